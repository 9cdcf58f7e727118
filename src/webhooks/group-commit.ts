import type { Kysely } from 'kysely';
import { Batcher, type Database, type NewWebhookEvent } from '../db/index.js';

/** Whether an event was newly stored, or an event with its id already was. */
export type StoreOutcome = 'stored' | 'duplicate';

/** Writes rows of distinct ids in one atomic statement or transaction; resolves the ids it newly inserted. */
export type BatchWriter = (rows: NewWebhookEvent[]) => Promise<ReadonlySet<string>>;

/**
 * The rows to write for a batch: the first row of each id. Later rows with the same id are
 * duplicates of it, whatever the database says.
 */
export function distinctRows(rows: readonly NewWebhookEvent[]): NewWebhookEvent[] {
  const seen = new Set<string>();
  return rows.filter((row) => !seen.has(row.id) && seen.add(row.id));
}

/** Each delivery's outcome: stored only for the first delivery of an id the write inserted. */
export function outcomesOf(rows: readonly NewWebhookEvent[], inserted: ReadonlySet<string>): StoreOutcome[] {
  const answered = new Set<string>();
  return rows.map((row) => {
    const first = !answered.has(row.id);
    answered.add(row.id);
    return first && inserted.has(row.id) ? 'stored' : 'duplicate';
  });
}

/**
 * Group commit for intake: deliveries that arrive while a write is in flight wait and are
 * written together in the next one, so many concurrent events share one durable commit (one
 * fsync) instead of queueing for one each. Every delivery's promise settles only after the
 * commit that holds its row: resolved when committed, rejected (→ 503) when the commit failed.
 */
export class GroupCommit {
  private readonly batcher: Batcher<NewWebhookEvent, StoreOutcome>;

  constructor(write: BatchWriter, maxBatch = 256) {
    this.batcher = new Batcher(async (rows) => outcomesOf(rows, await write(distinctRows(rows))), maxBatch);
  }

  store(row: NewWebhookEvent): Promise<StoreOutcome> {
    return this.batcher.submit(row);
  }
}

/** Rows of one multi-row INSERT must name the same columns: absent optional ones become null. */
export function withSameColumns(rows: readonly NewWebhookEvent[]): NewWebhookEvent[] {
  const columns = new Set(rows.flatMap((row) => Object.keys(row)));
  return rows.map((row) => Object.fromEntries([...columns].map((c) => [c, (row as Record<string, unknown>)[c] ?? null])) as NewWebhookEvent);
}

/** One multi-row INSERT … ON CONFLICT DO NOTHING RETURNING id: atomic, one commit for the whole batch. */
export function webhookEventWriter(db: Kysely<Database>): BatchWriter {
  return async (rows) => {
    const inserted = await db
      .insertInto('webhook_events')
      .values(withSameColumns(rows))
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .execute();
    return new Set(inserted.map((r) => r.id));
  };
}
