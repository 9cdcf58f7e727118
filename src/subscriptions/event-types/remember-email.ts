import type { EventStamp } from '../decide.js';
import type { SyncRecords } from '../records/index.js';

/** Stores the email an event states for a customer; returns what to add to the event's outcome (never the address itself). */
export async function rememberEmail(records: SyncRecords, customerId: string, email: string | null, event: EventStamp): Promise<string> {
  if (email === null) return '';
  const stored = await records.setCustomerEmail(customerId, email, event.created);
  return stored ? '; email recorded' : '; email unchanged: a newer one is stored';
}
