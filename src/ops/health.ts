import { type Kysely, sql } from 'kysely';
import { type AlertSettings, type AlertThresholds, DEFAULT_ALERT_THRESHOLDS } from '../config/index.js';
import type { Database } from '../db/index.js';
import { ALERT_TITLES, type AlertCondition, type Observation } from './alert-rules.js';
import { queueStats } from './views.js';

/** The queue's health over time and now: what the dashboard's overview, the admin API and the built-in alerts all read. */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const RANGES = { '24h': { bucketMs: HOUR_MS, buckets: 24 }, '7d': { bucketMs: DAY_MS, buckets: 7 } } as const;
export type ActivityRange = keyof typeof RANGES;
export const ACTIVITY_RANGES = Object.keys(RANGES) as ActivityRange[];

/** The bucket a time falls in, counted from `from` (integer division; the times are never before `from`). */
const bucketOf = (column: string, from: number, bucketMs: number) =>
  sql<number>`cast((${sql.ref(column)} - ${from}) / ${bucketMs} as integer)`;

/**
 * Events received (by arrival) and processing attempts applied, failed and dead (by when they
 * finished), per hour over the last 24 hours or per UTC day over the last 7, the current bucket last.
 */
export async function activityView(db: Kysely<Database>, range: ActivityRange, now = Date.now()) {
  const { bucketMs, buckets } = RANGES[range];
  const from = Math.floor(now / bucketMs) * bucketMs - (buckets - 1) * bucketMs;
  const [received, attempts] = await Promise.all([
    db
      .selectFrom('webhook_events')
      .select([bucketOf('received_at', from, bucketMs).as('bucket'), (eb) => eb.fn.countAll<string | number>().as('n')])
      .where('received_at', '>=', from)
      .groupBy(sql`1`)
      .execute(),
    db
      .selectFrom('event_attempts')
      .select([bucketOf('finished_at', from, bucketMs).as('bucket'), 'outcome', (eb) => eb.fn.countAll<string | number>().as('n')])
      .where('finished_at', '>=', from)
      .where('outcome', 'in', ['applied', 'failed', 'dead'])
      .groupBy([sql`1`, 'outcome'])
      .execute(),
  ]);
  const rows = Array.from({ length: buckets }, (_, i) => ({
    start: new Date(from + i * bucketMs).toISOString(),
    received: 0,
    applied: 0,
    failed: 0,
    dead: 0,
  }));
  for (const r of received) if (rows[Number(r.bucket)]) rows[Number(r.bucket)]!.received = Number(r.n);
  for (const a of attempts) {
    const row = rows[Number(a.bucket)];
    if (row && (a.outcome === 'applied' || a.outcome === 'failed' || a.outcome === 'dead')) row[a.outcome] = Number(a.n);
  }
  return { range, bucketSeconds: bucketMs / 1000, buckets: rows };
}

type QueueCondition = Exclude<AlertCondition, 'signature_failures'>;

/** The database conditions of the built-in alerts, observed now (the alert monitor notifies from these). */
export async function observeQueue(
  db: Kysely<Database>,
  thresholds: AlertThresholds,
  now: number,
): Promise<Record<QueueCondition, Observation>> {
  const stats = await queueStats(db, now);
  const dead = stats.byStatus.dead ?? 0;
  const newestDead = dead
    ? (
        await db.selectFrom('webhook_events').select('id').where('status', '=', 'dead').orderBy('received_at', 'desc').limit(3).execute()
      ).map((r) => r.id)
    : [];
  const failures = Number(
    (
      await db
        .selectFrom('event_attempts')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('outcome', 'in', ['failed', 'dead'])
        .where('finished_at', '>', now - thresholds.windowMs)
        .executeTakeFirstOrThrow()
    ).n,
  );
  const age = stats.oldestPendingAgeSeconds ?? 0;
  const minutes = Math.round(thresholds.windowMs / 60_000);
  return {
    dead_events: {
      firing: dead > 0,
      value: dead,
      detail:
        dead > 0
          ? `${dead} dead event(s), newest ${newestDead.join(', ')}. Inspect: npm run cli -- events list --status dead`
          : 'no dead events left',
    },
    processing_failures: {
      firing: failures >= thresholds.failureThreshold,
      value: failures,
      detail: `${failures} failed processing attempt(s) in the last ${minutes} min (threshold ${thresholds.failureThreshold})`,
    },
    pending_backlog: {
      firing: age * 1000 >= thresholds.backlogAgeMs,
      value: age,
      detail: `oldest waiting event is ${age} s old (threshold ${Math.round(thresholds.backlogAgeMs / 1000)} s); ${stats.byStatus.pending ?? 0} pending`,
    },
  };
}

/** The built-in alerts' database conditions as they stand, with ALERT_* thresholds (or their defaults when alerts are off). */
export async function alertsView(db: Kysely<Database>, alerts: AlertSettings | undefined, now = Date.now()) {
  const observed = await observeQueue(db, alerts ?? DEFAULT_ALERT_THRESHOLDS, now);
  return {
    notifying: alerts !== undefined,
    conditions: (Object.entries(observed) as [QueueCondition, Observation][]).map(([condition, o]) => ({
      condition,
      title: ALERT_TITLES[condition],
      firing: o.firing,
      value: o.value,
      detail: o.detail,
    })),
  };
}
