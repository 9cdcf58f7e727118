import type { Kysely } from 'kysely';
import type { Database, WebhookEventRow } from '../db/index.js';

export interface GroupOutcome<T> {
  /** Committed, in the order given. */
  applied: { row: WebhookEventRow; value: T; durationMs: number }[];
  /** Not committed: each must be tried again alone. */
  failed: WebhookEventRow[];
}

/**
 * Applies several events in one transaction (one commit, one fsync), each inside its own
 * savepoint: an event that throws is rolled back to its savepoint and reported as failed while
 * the others still commit. When the transaction itself cannot commit, every event is reported
 * failed. Callers retry failed events alone, so a failure is recorded for the event that caused it.
 */
export async function applyGroup<T>(
  db: Kysely<Database>,
  rows: readonly WebhookEventRow[],
  applyOne: (trx: Kysely<Database>, row: WebhookEventRow) => Promise<T>,
  now: () => number = Date.now,
): Promise<GroupOutcome<T>> {
  const applied: GroupOutcome<T>['applied'] = [];
  const failed: WebhookEventRow[] = [];
  let trx;
  try {
    trx = await db.startTransaction().execute();
  } catch {
    return { applied: [], failed: [...rows] };
  }
  try {
    for (const row of rows) {
      const startedAt = now();
      const savepoint = await trx.savepoint('event').execute();
      try {
        const value = await applyOne(savepoint, row);
        await savepoint.releaseSavepoint('event').execute();
        applied.push({ row, value, durationMs: now() - startedAt });
      } catch {
        await savepoint.rollbackToSavepoint('event').execute();
        failed.push(row);
      }
    }
    await trx.commit().execute();
    return { applied, failed };
  } catch {
    await trx.rollback().execute().catch(() => {});
    return { applied: [], failed: [...rows] };
  }
}
