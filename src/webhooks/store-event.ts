import type { NewWebhookEvent, Store } from '../db/index.js';
import { isHandledEventType } from '../subscriptions/index.js';

/**
 * The one way an event enters the database, whether Stripe delivered it or backfill fetched it:
 * deduplicated by id, and marked ignored at once when sync does not handle its type.
 * True when newly stored, false for a duplicate; throws when the database cannot store it.
 */
export async function storeEvent(store: Store, row: NewWebhookEvent): Promise<boolean> {
  const stored = isHandledEventType(row.type)
    ? row
    : { ...row, status: 'ignored' as const, outcome: 'ignored: type not handled', processed_at: row.received_at };
  const result = await store.db
    .insertInto('webhook_events')
    .values(stored)
    .onConflict((oc) => oc.column('id').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}
