import type { Kysely } from 'kysely';
import type { Database, NewWebhookEvent } from '../db/index.js';

/** Whether an event was newly stored, or an event with its id already was. */
export type StoreOutcome = 'stored' | 'duplicate';

/** Writes rows of distinct ids in one atomic statement or transaction; resolves the ids it newly inserted. */
export type BatchWriter = (rows: NewWebhookEvent[]) => Promise<ReadonlySet<string>>;

interface Waiting {
  row: NewWebhookEvent;
  resolve: (outcome: StoreOutcome) => void;
  reject: (error: unknown) => void;
}

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
 * A lone delivery waits only for the current event-loop turn, so light traffic pays no added latency.
 */
export class GroupCommit {
  private waiting: Waiting[] = [];
  private writing = false;

  constructor(
    private readonly write: BatchWriter,
    private readonly maxBatch = 256,
  ) {}

  store(row: NewWebhookEvent): Promise<StoreOutcome> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ row, resolve, reject });
      if (this.writing) return;
      this.writing = true;
      // Start on the next turn of the event loop, so every delivery read in this turn joins the
      // batch: better-sqlite3 writes synchronously, and an immediate write would always be alone.
      setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.maxBatch);
      const rows = batch.map((w) => w.row);
      try {
        const inserted = await this.write(distinctRows(rows));
        outcomesOf(rows, inserted).forEach((outcome, i) => batch[i]!.resolve(outcome));
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    this.writing = false;
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
