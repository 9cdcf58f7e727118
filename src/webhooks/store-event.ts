import type { NewWebhookEvent, Store } from '../db/index.js';
import { isHandledEventType } from '../subscriptions/index.js';
import { webhookEventWriter } from './group-commit.js';

/** The row as stored: marked ignored at once when sync does not handle its type. */
export function asStored(row: NewWebhookEvent): NewWebhookEvent {
  return isHandledEventType(row.type)
    ? row
    : { ...row, status: 'ignored', outcome: 'ignored: type not handled', processed_at: row.received_at };
}

/**
 * How backfill stores an event it fetched: as a delivery would be (`asStored`), deduplicated by id.
 * (Webhook deliveries take the same rows through group commit.)
 * True when newly stored, false for a duplicate; throws when the database cannot store it.
 */
export async function storeEvent(store: Store, row: NewWebhookEvent): Promise<boolean> {
  return (await webhookEventWriter(store)([asStored(row)])).has(row.id);
}
