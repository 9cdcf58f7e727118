import { type Insertable, type Kysely, sql } from 'kysely';
import type { AttemptOutcome, Database, EventAttemptsTable, Store, StoredEvent, WebhookEventRow, WebhookEventStatus } from '../db/index.js';

export interface Attempt {
  row: WebhookEventRow;
  worker: string;
  startedAt: number;
  finishedAt: number;
  outcome: AttemptOutcome;
  error: string | null;
}

/** An event applied (or ignored) by its transaction, and what it did. */
export interface FinishedEvent {
  id: string;
  status: Extract<WebhookEventStatus, 'applied' | 'ignored'>;
  outcome: string;
}

/** What the transaction that applied events writes last (see records/apply.ts): each event finished by `owner`, and its attempt. */
export interface Completion {
  owner: string;
  now: number;
  finished: FinishedEvent[];
  attempts: Attempt[];
}

/** The worker no longer holds an event's lease (it expired and another worker took the event): its transaction must roll back. */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError';

  constructor() {
    super('lease expired and the event was taken over by another worker');
  }
}

/** Appends to the events' attempt logs (inside the applying transaction when the attempts succeeded). */
export async function recordAttempts(db: Kysely<Database>, attempts: Attempt[]): Promise<void> {
  if (attempts.length === 0) return;
  await db.insertInto('event_attempts').values(attempts.map(attemptRow)).execute();
}

export function attemptRow(attempt: Attempt): Insertable<EventAttemptsTable> {
  return {
    event_id: attempt.row.id,
    attempt: attempt.row.attempts,
    worker: attempt.worker,
    started_at: attempt.startedAt,
    finished_at: attempt.finishedAt,
    outcome: attempt.outcome,
    error: attempt.error,
  };
}

/** Queue order: `created`, then arrival. */
function byAge(a: Pick<WebhookEventRow, 'created' | 'received_at'>, b: Pick<WebhookEventRow, 'created' | 'received_at'>): number {
  return a.created - b.created || a.received_at - b.received_at;
}

/**
 * Keeps the oldest event of each ordering key: a due retry and a newer pending event of one
 * subscription (which the older-event check lets through, as a failed event holds nothing back)
 * must not be applied side by side.
 */
function firstOfEachKey<T extends Pick<WebhookEventRow, 'ordering_key'>>(ordered: T[]): T[] {
  const seen = new Set<string>();
  return ordered.filter((row) => {
    if (row.ordering_key === null) return true;
    if (seen.has(row.ordering_key)) return false;
    seen.add(row.ordering_key);
    return true;
  });
}

/**
 * The stored events as a durable work queue. A worker claims events with a lease
 * (`processing`, `locked_by`, `lease_until`); only the lease holder may finish them, and an
 * expired lease (a worker that died) lets any worker take the event again. On PostgreSQL claims
 * use `FOR UPDATE SKIP LOCKED`, so concurrent workers never claim the same event.
 */
export class EventQueue {
  constructor(private readonly store: Store) {}

  /**
   * Claims up to `limit` due events, oldest `created` first, at most one per ordering key and
   * none whose key has an older event still pending or in process: events of one subscription
   * are applied in order, different subscriptions in parallel.
   */
  async claim(owner: string, now: number, leaseMs: number, limit: number): Promise<StoredEvent[]> {
    const claimWith = async (db: Kysely<Database>) => {
      // One ordered, index-driven scan per way of being due (a single OR-ed scan read and sorted
      // every waiting event before its LIMIT); the oldest `limit` of the three lists win.
      const lists = await Promise.all([
        this.dueOfStatus(db, 'pending', limit).execute(),
        this.dueOfStatus(db, 'failed', limit).where('e.next_attempt_at', '<=', now).execute(),
        this.dueOfStatus(db, 'processing', limit).where('e.lease_until', '<', now).execute(),
      ]);
      const ids = firstOfEachKey(lists.flat().sort(byAge))
        .slice(0, limit)
        .map((r) => r.id);
      if (ids.length === 0) return [];
      const claimed = await db
        .updateTable('webhook_events')
        .set((eb) => ({ status: 'processing', locked_by: owner, lease_until: now + leaseMs, attempts: eb('attempts', '+', 1) }))
        .where('id', 'in', ids)
        .returningAll()
        .returning((eb) =>
          eb.selectFrom('webhook_event_payloads as p').select('p.payload').whereRef('p.event_id', '=', 'webhook_events.id').as('payload'),
        )
        .execute();
      return claimed.sort(byAge);
    };
    // PostgreSQL: the selected rows stay locked until the update commits. SQLite has one worker
    // per file, so nothing else claims in between; and a read transaction there that another
    // process (intake only) writes behind could not be upgraded to a write (SQLITE_BUSY at once).
    const { db, dialect } = this.store;
    return dialect === 'postgres' ? db.transaction().execute(claimWith) : claimWith(db);
  }

  /**
   * Events of one status, oldest first, that no older pending or in-process event of their key
   * holds back. Walks `webhook_events_claim` in order and stops at the limit; the check is one
   * seek in `webhook_events_ordering` per row. On PostgreSQL the rows stay locked until the claim
   * commits, and rows other workers are claiming are skipped.
   */
  private dueOfStatus(db: Kysely<Database>, status: WebhookEventStatus, limit: number) {
    return db
      .selectFrom('webhook_events as e')
      .select(['e.id', 'e.ordering_key', 'e.created', 'e.received_at'])
      .where('e.status', '=', status)
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('webhook_events as o')
              .select(sql.lit(1).as('one'))
              .whereRef('o.ordering_key', '=', 'e.ordering_key')
              .where('o.status', 'in', ['pending', 'processing'])
              .whereRef('o.created', '<=', 'e.created')
              .whereRef('o.id', '<>', 'e.id')
              .where((older) =>
                older.or([older('o.created', '<', older.ref('e.created')), older('o.received_at', '<', older.ref('e.received_at'))]),
              ),
          ),
        ),
      )
      .orderBy('e.created')
      .orderBy('e.received_at')
      .limit(limit)
      .$if(this.store.dialect === 'postgres', (qb) => qb.forUpdate().skipLocked());
  }

  /** Records a failed attempt: `failed` with the next attempt's time, or `dead`. */
  async fail(row: WebhookEventRow, owner: string, error: string, nextAttemptAt: number | null): Promise<void> {
    await this.store.db
      .updateTable('webhook_events')
      .set({
        status: nextAttemptAt === null ? 'dead' : 'failed',
        last_error: error,
        next_attempt_at: nextAttemptAt,
        locked_by: null,
        lease_until: null,
      })
      .where('id', '=', row.id)
      .where('locked_by', '=', owner)
      .execute();
  }

  /** Gives back claimed events that were not started (shutdown), without counting the attempt. */
  async release(ids: string[], owner: string): Promise<void> {
    if (ids.length === 0) return;
    await this.store.db
      .updateTable('webhook_events')
      .set((eb) => ({ status: 'pending', locked_by: null, lease_until: null, attempts: eb('attempts', '-', 1) }))
      .where('id', 'in', ids)
      .where('locked_by', '=', owner)
      .where('status', '=', 'processing')
      .execute();
  }

  /** Makes every `processing` lease expire now: used when this worker knows it is the only one (SQLite). */
  async expireAllLeases(): Promise<number> {
    const result = await this.store.db
      .updateTable('webhook_events')
      .set({ lease_until: 0 })
      .where('status', '=', 'processing')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /**
   * Puts events back in the queue with a fresh retry budget: by id, or every event of a status
   * (of one type, if given). Replaying an applied event is harmless: sync recognises what it already applied.
   */
  async replay(selector: { id: string } | { status: WebhookEventStatus; type?: string }): Promise<string[]> {
    const type = 'type' in selector ? selector.type : undefined;
    const rows = await this.store.db
      .updateTable('webhook_events')
      .set({ status: 'pending', attempts: 0, next_attempt_at: null, locked_by: null, lease_until: null })
      .where((eb) => ('id' in selector ? eb('id', '=', selector.id) : eb('status', '=', selector.status)))
      .$if(type !== undefined, (qb) => qb.where('type', '=', type!))
      .where('status', '<>', 'processing')
      .returning('id')
      .execute();
    return rows.map((r) => r.id);
  }

  /** One event back in the queue, or why not: it is being processed right now, or it is not stored. */
  async replayOne(id: string): Promise<'replayed' | 'in_process' | 'not_found'> {
    if ((await this.replay({ id })).length > 0) return 'replayed';
    const exists = await this.store.db.selectFrom('webhook_events').select('status').where('id', '=', id).executeTakeFirst();
    return exists ? 'in_process' : 'not_found';
  }

  /** Deletes applied and ignored events received before `before` (ms), in bounded batches, and old attempt logs. Dead ones stay. */
  async prune(before: number, batch = 5000): Promise<number> {
    const { db } = this.store;
    await db
      .deleteFrom('event_attempts')
      .where('finished_at', '<', before)
      .where('event_id', 'not in', (eb) =>
        eb.selectFrom('webhook_events').select('webhook_events.id').where('webhook_events.status', '=', 'dead'),
      )
      .execute();
    let total = 0;
    for (;;) {
      // One transaction, its first statement a write (so SQLite takes the write lock at once): the
      // status is checked by the same statement that deletes, so an event replayed meanwhile stays.
      const deleted = await db.transaction().execute(async (trx) => {
        const ids = (
          await trx
            .deleteFrom('webhook_events')
            .where('id', 'in', (eb) =>
              eb
                .selectFrom('webhook_events')
                .select('id')
                .where('status', 'in', ['applied', 'ignored'])
                .where('received_at', '<', before)
                .limit(batch),
            )
            .returning('id')
            .execute()
        ).map((row) => row.id);
        if (ids.length > 0) await trx.deleteFrom('webhook_event_payloads').where('event_id', 'in', ids).execute();
        return ids.length;
      });
      total += deleted;
      if (deleted < batch) return total;
    }
  }
}
