import { inWriteTransaction, type Store } from '../../db/index.js';
import type { Completion } from '../queue.js';
import { type Needs, type SyncRecords, TransactionRecords } from './records.js';
import { finishEvents, LinkedMeanwhileError, writeTables } from './statements.js';
import { writeOnPostgres } from './write-postgres.js';

export interface Applied<I, T> {
  item: I;
  value: T;
  startedAt: number;
  finishedAt: number;
}

export interface TransactionOutcome<I, T> {
  /** Committed, in the order given. */
  applied: Applied<I, T>[];
  /** Not committed, with why. */
  failed: { item: I; error: unknown }[];
  /** Why the whole transaction could not commit (then every item is in `failed` with it). */
  transactionError?: unknown;
  /** Not started, because `startAnother` said no. */
  unstarted: I[];
}

export interface TransactionSteps<I, T> {
  /** One item's effects (an event's, the Checkout redirect's…), through the transaction's records. */
  apply(records: SyncRecords, item: I): Promise<T>;
  /** What to write last, with the records: the applied events' marks and attempts. A lost lease rolls everything back. */
  completion(applied: Applied<I, T>[]): Completion;
  /** Asked before each item after the first, with how many have started: false ends the transaction there (the rest are `unstarted`). */
  startAnother?(started: number): boolean;
}

/**
 * The one way sync changes records: items (one event, a worker's group of events, the Checkout
 * redirect, a reconcile repair) applied in one transaction (one commit, one fsync). What the
 * items need is locked and loaded at the start, each item's writes are buffered and kept only if
 * it succeeds, and everything kept is written together at the end, with the completion, by the
 * database's writer. An item that throws leaves nothing behind and is reported failed while the
 * others still commit. When the transaction cannot commit, every item is reported failed.
 */
export async function applyInTransaction<I, T>(
  store: Store,
  items: readonly I[],
  needs: Needs,
  steps: TransactionSteps<I, T>,
  now: () => number = Date.now,
): Promise<TransactionOutcome<I, T>> {
  try {
    return await inWriteTransaction(store, async (db) => {
      const records = await TransactionRecords.load(db, store.dialect, now, needs);
      const outcome: TransactionOutcome<I, T> = { applied: [], failed: [], unstarted: [] };
      for (const [index, item] of items.entries()) {
        if (index > 0 && steps.startAnother?.(index) === false) {
          outcome.unstarted.push(...items.slice(index));
          break;
        }
        const startedAt = now();
        const event = records.forEvent();
        try {
          const value = await steps.apply(event, item);
          event.keep();
          outcome.applied.push({ item, value, startedAt, finishedAt: now() });
        } catch (error) {
          outcome.failed.push({ item, error });
        }
      }
      const completion = steps.completion(outcome.applied);
      if (store.dialect === 'sqlite') {
        await writeTables(db, records.writes);
        await finishEvents(db, completion);
      } else {
        await writeOnPostgres(db, records.writes, completion);
      }
      return outcome;
    });
  } catch (transactionError) {
    return { applied: [], failed: items.map((item) => ({ item, error: transactionError })), unstarted: [], transactionError };
  }
}

const NOTHING_TO_FINISH = (now: number): Completion => ({ owner: '', now, finished: [], attempts: [] });

/** How often a change outside the worker is run again when a customer it links was linked meanwhile (it then reads that link). */
const LINK_RACE_TRIES = 3;

export interface ChangeOptions {
  now?: () => number;
  /** Told of each run again after a customer was linked meanwhile (for the caller's log). */
  onRetry?: (error: Error) => void;
}

/**
 * A change from outside the worker (the Checkout redirect, reconcile, a checkout's new customer),
 * on the same path as events. Throws what the change threw, or why it could not commit.
 */
export async function applyChange<T>(
  store: Store,
  needs: Partial<Needs>,
  change: (records: SyncRecords) => Promise<T>,
  options: ChangeOptions = {},
): Promise<T> {
  const now = options.now ?? Date.now;
  const all: Needs = { locks: [], subscriptions: [], payments: [], customers: [], ...needs };
  for (let attempt = 1; ; attempt++) {
    const outcome = await applyInTransaction(
      store,
      [null],
      all,
      { apply: (records) => change(records), completion: () => NOTHING_TO_FINISH(now()) },
      now,
    );
    const [applied] = outcome.applied;
    if (applied) return applied.value;
    const { error } = outcome.failed[0]!;
    if (!(error instanceof LinkedMeanwhileError) || attempt === LINK_RACE_TRIES) throw error;
    options.onRetry?.(error);
  }
}
