import { sql } from 'kysely';
import type { Store, WebhookEventRow } from '../db/index.js';
import { GroupRecords } from './group-records.js';
import type { Completion } from './queue.js';
import type { SyncRecords } from './repository.js';

export interface AppliedEvent<T, R extends WebhookEventRow = WebhookEventRow> {
  row: R;
  value: T;
  startedAt: number;
  finishedAt: number;
}

export interface GroupOutcome<T, R extends WebhookEventRow> {
  /** Committed, in the order given. */
  applied: AppliedEvent<T, R>[];
  /** Not committed, with why: each must be tried again alone. */
  failed: { row: R; error: unknown }[];
  /** Why the whole group could not commit (then every event is in `failed` with it). */
  groupError?: unknown;
  /** Not started, because `startAnother` said no: still claimed, for a later group. */
  unstarted: R[];
}

export interface GroupSteps<T, R extends WebhookEventRow> {
  /** One event's effects, through the group's records. */
  apply(records: SyncRecords, row: R): Promise<T>;
  /** What to write last, with the records: the applied events' marks and attempts. A lost lease rolls the whole group back. */
  completion(applied: AppliedEvent<T, R>[]): Completion;
  /** Asked before each event after the first, with how many have started: false ends the group there (the rest are `unstarted`). */
  startAnother?(started: number): boolean;
}

/**
 * Applies several events in one transaction (one commit, one fsync) with a handful of statements
 * for the whole group: the subscriptions they are about are locked and loaded at the start, each
 * event's writes are buffered and kept only if it succeeds, and everything kept is written together
 * at the end. An event that throws leaves nothing behind and is reported failed while the others
 * still commit. When the transaction itself cannot commit, or its completion cannot be written,
 * every event is reported failed, with the group's error. Callers retry failed events alone, so
 * a failure is recorded for the event that caused it.
 */
export async function applyGroup<T, R extends WebhookEventRow>(
  store: Store,
  rows: readonly R[],
  steps: GroupSteps<T, R>,
  now: () => number = Date.now,
): Promise<GroupOutcome<T, R>> {
  try {
    return await store.db.connection().execute(async (db) => {
      // SQLite: take the write lock at once. A transaction that read first could not write after
      // another process (intake) wrote behind it (SQLITE_BUSY without waiting).
      await sql.raw(store.dialect === 'sqlite' ? 'begin immediate' : 'begin').execute(db);
      try {
        const records = await GroupRecords.load(db, store.dialect, now, rows);
        const applied: AppliedEvent<T, R>[] = [];
        const failed: { row: R; error: unknown }[] = [];
        const unstarted: R[] = [];
        for (const [index, row] of rows.entries()) {
          if (index > 0 && steps.startAnother?.(index) === false) {
            unstarted.push(...rows.slice(index));
            break;
          }
          const startedAt = now();
          const event = records.forEvent();
          try {
            const value = await steps.apply(event, row);
            await event.keep();
            applied.push({ row, value, startedAt, finishedAt: now() });
          } catch (error) {
            await event.discard();
            failed.push({ row, error });
          }
        }
        await records.write(steps.completion(applied));
        await sql`commit`.execute(db);
        return { applied, failed, unstarted };
      } catch (error) {
        await sql`rollback`.execute(db).catch(() => {});
        throw error;
      }
    });
  } catch (groupError) {
    return { applied: [], failed: rows.map((row) => ({ row, error: groupError })), unstarted: [], groupError };
  }
}

