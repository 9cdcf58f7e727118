import pino from 'pino';
import { openStore, type Store, type WebhookEventRow } from '../../src/db/index.js';
import { SyncWorker, type SyncWorkerOptions } from '../../src/subscriptions/index.js';
import { readEnvelope } from '../../src/webhooks/envelope.js';
import { webhookEventWriter } from '../../src/webhooks/group-commit.js';
import type { BACKENDS, TestDatabase } from './databases.js';
import { type StripeEventBody, serialize } from './events.js';

const quiet = pino({ level: 'silent' });

/** A database with the schema, and no service: events are stored as intake would store them. */
export async function openDatabase(backend: (typeof BACKENDS)[number]): Promise<{ database: TestDatabase; store: Store }> {
  const database = await backend.create();
  return { database, store: await openStore(database.url) };
}

export async function store(db: Store, events: StripeEventBody[]): Promise<void> {
  const receivedAt = Date.now();
  const rows = events.map((event) => readEnvelope(event, Buffer.from(serialize(event)), receivedAt)!);
  await webhookEventWriter(db)(rows);
}

export async function addUsers(db: Store, ids: string[]): Promise<void> {
  await db.db
    .insertInto('users')
    .values(ids.map((id) => ({ id, token_hash: null, created_at: Date.now() })))
    .execute();
}

/** Drains everything due with one lane (rounds of claims in a fixed order); returns how often `afterApply` ran for each event. */
export async function drain(
  db: Store,
  options: Partial<SyncWorkerOptions> & { eventsPerTransaction: number },
): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  const worker = new SyncWorker({
    store: db,
    logger: quiet,
    retrySchedule: [60_000],
    pollIntervalMs: 60_000,
    concurrency: 1,
    ...options,
    afterApply: async (row: WebhookEventRow) => {
      calls.set(row.id, (calls.get(row.id) ?? 0) + 1);
      await options.afterApply?.(row);
    },
  });
  await worker.drain();
  return calls;
}
