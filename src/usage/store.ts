import { type Kysely, sql } from 'kysely';
import { type Database, inWriteTransaction, type Store } from '../db/index.js';
import { type AppliedLimit, decideConsume, stateOf, type UsageState, type UsageWindow } from './decide.js';

/**
 * Usage counts in the database. Every consumption is a row; what was used in a window is a sum
 * over an index. A consumption's check and count happen in one write transaction that holds the
 * (user, feature) lock, so no two consumptions of one quota ever interleave, in one process or many.
 */

/** What was used of a feature in a window. */
export async function usedIn(db: Kysely<Database>, userId: string, feature: string, window: UsageWindow): Promise<number> {
  return (await usedInWindows(db, userId, { [feature]: window }))[feature] ?? 0;
}

/**
 * What was used of each feature in its own window, in one query (an entitlement answer reports
 * every configured feature): one index range per feature, summed by feature.
 */
export async function usedInWindows(
  db: Kysely<Database>,
  userId: string,
  windows: Record<string, UsageWindow>,
): Promise<Record<string, number>> {
  const features = Object.entries(windows);
  if (features.length === 0) return {};
  const rows = await db
    .selectFrom('usage_events')
    // sum(bigint) is numeric on PostgreSQL: cast back, so it reads as a number.
    .select(['feature', sql<number>`cast(sum(amount) as bigint)`.as('used')])
    .where('user_id', '=', userId)
    .where((eb) =>
      eb.or(
        features.map(([feature, window]) =>
          eb.and([eb('feature', '=', feature), eb('at', '>=', window.start), ...(window.end === null ? [] : [eb('at', '<', window.end)])]),
        ),
      ),
    )
    .groupBy('feature')
    .execute();
  return Object.fromEntries(rows.map((row) => [row.feature, Number(row.used)]));
}

/** SQLite's write transaction is already serial; PostgreSQL takes a transaction lock per (user, feature). */
async function lockQuota(store: Store, db: Kysely<Database>, userId: string, feature: string): Promise<void> {
  if (store.dialect === 'postgres')
    await sql`select pg_advisory_xact_lock(hashtextextended(${`usage:${userId}:${feature}`}, 0))`.execute(db);
}

export interface ConsumeRequest {
  userId: string;
  feature: string;
  amount: number;
  idempotencyKey: string | undefined;
  applied: AppliedLimit;
  window: UsageWindow;
  nowMs: number;
}

/** The answer of a consumption: what it says, and whether it replays an earlier one. */
export interface Consumed {
  allowed: boolean;
  state: UsageState;
  /** The same idempotency key was seen before: this is that first answer. */
  replayed: boolean;
}

export async function consume(store: Store, request: ConsumeRequest): Promise<Consumed> {
  const { userId, feature, idempotencyKey } = request;
  return inWriteTransaction(store, async (db) => {
    await lockQuota(store, db, userId, feature);
    if (idempotencyKey !== undefined) {
      const earlier = await db
        .selectFrom('usage_events')
        .select('answer')
        .where('user_id', '=', userId)
        .where('feature', '=', feature)
        .where('idempotency_key', '=', idempotencyKey)
        .executeTakeFirst();
      if (earlier?.answer) return { ...(JSON.parse(earlier.answer) as Omit<Consumed, 'replayed'>), replayed: true };
    }
    const used = await usedIn(db, userId, feature, request.window);
    const { allowed, usedAfter } = decideConsume(used, request.amount, request.applied);
    const answer = { allowed, state: stateOf(usedAfter, request.applied, request.window) };
    // A refusal counts nothing; it is kept only to be answered again for its idempotency key.
    if (allowed || idempotencyKey !== undefined) {
      await db
        .insertInto('usage_events')
        .values({
          user_id: userId,
          feature,
          amount: allowed ? request.amount : 0,
          kind: allowed ? 'consume' : 'refused',
          at: request.nowMs,
          idempotency_key: idempotencyKey ?? null,
          answer: idempotencyKey === undefined ? null : JSON.stringify(answer),
        })
        .execute();
    }
    return { ...answer, replayed: false };
  });
}

/** An operator's reset: a row that takes back what the window counted, so the history still explains every number. */
export async function resetUsage(store: Store, userId: string, feature: string, window: UsageWindow, nowMs: number): Promise<number> {
  return inWriteTransaction(store, async (db) => {
    await lockQuota(store, db, userId, feature);
    const used = await usedIn(db, userId, feature, window);
    if (used !== 0) {
      await db
        .insertInto('usage_events')
        .values({ user_id: userId, feature, amount: -used, kind: 'reset', at: nowMs, idempotency_key: null, answer: null })
        .execute();
    }
    return used;
  });
}
