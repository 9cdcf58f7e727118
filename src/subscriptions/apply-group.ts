import { type Kysely, sql } from 'kysely';
import type { Database, Store, WebhookEventRow } from '../db/index.js';
import { GroupRecords } from './group-records.js';
import type { SyncRecords } from './repository.js';

export interface AppliedEvent<T> {
  row: WebhookEventRow;
  value: T;
  startedAt: number;
  finishedAt: number;
}

export interface GroupOutcome<T> {
  /** Committed, in the order given. */
  applied: AppliedEvent<T>[];
  /** Not committed: each must be tried again alone. */
  failed: WebhookEventRow[];
}

export interface GroupSteps<T> {
  /** One event's effects, through the group's records. */
  apply(records: SyncRecords, row: WebhookEventRow): Promise<T>;
  /** Last before the commit, after the records are written: marks the applied events; throwing rolls the whole group back. */
  finish(db: Kysely<Database>, applied: AppliedEvent<T>[]): Promise<void>;
}

/**
 * Applies several events in one transaction (one commit, one fsync) with a handful of statements
 * for the whole group: the subscriptions they are about are locked and loaded at the start, each
 * event's writes are buffered and kept only if it succeeds, and everything kept is written together
 * at the end. An event that throws leaves nothing behind and is reported failed while the others
 * still commit. When the transaction itself cannot commit, or `finish` throws, every event is
 * reported failed. Callers retry failed events alone, so a failure is recorded for the event that caused it.
 */
export async function applyGroup<T>(
  store: Store,
  rows: readonly WebhookEventRow[],
  steps: GroupSteps<T>,
  now: () => number = Date.now,
): Promise<GroupOutcome<T>> {
  try {
    return await store.db.connection().execute(async (db) => {
      // SQLite: take the write lock at once. A transaction that read first could not write after
      // another process (intake) wrote behind it (SQLITE_BUSY without waiting).
      await sql.raw(store.dialect === 'sqlite' ? 'begin immediate' : 'begin').execute(db);
      try {
        const records = await GroupRecords.load(db, store.dialect, now, rows);
        const applied: AppliedEvent<T>[] = [];
        const failed: WebhookEventRow[] = [];
        for (const row of rows) {
          const startedAt = now();
          const event = records.forEvent();
          try {
            const value = await steps.apply(event, row);
            await event.keep();
            applied.push({ row, value, startedAt, finishedAt: now() });
          } catch {
            await event.discard();
            failed.push(row);
          }
        }
        await records.write();
        await steps.finish(db, applied);
        await sql`commit`.execute(db);
        return { applied, failed };
      } catch (error) {
        await sql`rollback`.execute(db).catch(() => {});
        throw error;
      }
    });
  } catch {
    return { applied: [], failed: [...rows] };
  }
}

