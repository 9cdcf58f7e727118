import type Stripe from 'stripe';
import type { Store } from '../db/index.js';
import type { Metrics } from '../ops/index.js';
import { HANDLED_EVENT_TYPES } from '../subscriptions/index.js';
import { readEnvelope, storeEvent } from '../webhooks/index.js';
import type { Progress } from './progress.js';

/** `events.list` reaches back 30 days. */
export const BACKFILL_LIMIT_SECONDS = 30 * 86_400;

export interface BackfillCounts {
  seen: number;
  stored: number;
  duplicates: number;
  /** Events Stripe listed that are not well-formed events (intake would refuse them too): never stored. */
  invalid: number;
}

/**
 * Pages through Stripe's events of the handled types created since `since` (unix seconds) and
 * stores each one not stored yet, exactly as webhook intake does (the worker then applies them):
 * what a webhook never delivered is recovered. Streams page by page.
 */
export async function backfill(options: {
  stripe: Stripe;
  store: Store;
  since: number;
  progress?: Progress;
  metrics?: Pick<Metrics, 'backfilledEvents'>;
  /** Told of each invalid event, with its id where it has a string one, so that it is logged. */
  onInvalid: (eventId: string | undefined) => void;
  now?: () => number;
}): Promise<BackfillCounts> {
  const counts: BackfillCounts = { seen: 0, stored: 0, duplicates: 0, invalid: 0 };
  const now = options.now ?? Date.now;
  const since = Math.max(options.since, Math.floor(now() / 1000) - BACKFILL_LIMIT_SECONDS);
  const events = options.stripe.events.list({ types: [...HANDLED_EVENT_TYPES], created: { gte: since }, limit: 100 });
  for await (const event of events) {
    counts.seen++;
    // Stripe's own serialization of the event, as a webhook would carry it.
    const row = readEnvelope(event, Buffer.from(JSON.stringify(event, null, 2)), now());
    const outcome = row === undefined ? 'invalid' : (await storeEvent(options.store, row)) ? 'stored' : 'duplicate';
    if (outcome === 'invalid') options.onInvalid(typeof event.id === 'string' ? event.id.slice(0, 255) : undefined);
    counts[outcome === 'duplicate' ? 'duplicates' : outcome]++;
    options.metrics?.backfilledEvents.inc({ outcome });
    options.progress?.update({ ...counts });
  }
  options.progress?.done({ ...counts });
  return counts;
}

/** Where a start-up backfill begins: an hour before the newest stored event, or 72 hours back on an empty database. */
export async function startupBackfillSince(store: Store, nowSeconds: number): Promise<number> {
  const newest = await store.db
    .selectFrom('webhook_events')
    .select((eb) => eb.fn.max('created').as('created'))
    .executeTakeFirst();
  const created = Number(newest?.created ?? 0);
  return created > 0 ? created - 3600 : nowSeconds - 72 * 3600;
}
