import type { Kysely, Selectable } from 'kysely';
import type { Database, WebhookEventRow, WebhookEventStatus } from '../db/index.js';
import { decisionOf, type EntitlementSettings } from '../entitlements/index.js';
import { recordFromRow } from '../subscriptions/index.js';
import type { UsageQuotas } from '../usage/index.js';
import type { Metrics } from './metrics.js';

/** What operators look at, shared by the admin API and the CLI so both always say the same. */

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export interface QueueStats {
  byStatus: Partial<Record<WebhookEventStatus, number>>;
  total: number;
  /** Age of the oldest event not yet applied (pending, processing or failed), from its arrival. */
  oldestPendingAgeSeconds: number | null;
  lastReceivedAt: number | null;
}

export async function queueStats(db: Kysely<Database>, now = Date.now()): Promise<QueueStats> {
  const counts = await db
    .selectFrom('webhook_events')
    .select(['status', (eb) => eb.fn.countAll<string | number>().as('n')])
    .groupBy('status')
    .execute();
  const times = await db
    .selectFrom('webhook_events')
    .select((eb) => [
      eb.fn.max('received_at').as('last'),
      eb.fn.min(eb.case().when('status', 'in', ['pending', 'processing', 'failed']).then(eb.ref('received_at')).end()).as('oldest'),
    ])
    .executeTakeFirstOrThrow();
  const byStatus = Object.fromEntries(counts.map((c) => [c.status, Number(c.n)])) as QueueStats['byStatus'];
  const oldest = times.oldest === null ? null : Number(times.oldest);
  return {
    byStatus,
    total: counts.reduce((sum, c) => sum + Number(c.n), 0),
    oldestPendingAgeSeconds: oldest === null ? null : Math.max(0, Math.round((now - oldest) / 1000)),
    lastReceivedAt: times.last === null ? null : Number(times.last),
  };
}

/** With `metrics`: `groupFallbacks`, this process's count since it started (sync_group_fallbacks_total). */
export async function statsView(db: Kysely<Database>, metrics?: Metrics) {
  const stats = await queueStats(db);
  const fallbacks = metrics ? (await metrics.groupFallbacks.get()).values.reduce((sum, v) => sum + v.value, 0) : undefined;
  return {
    events: stats.byStatus,
    total: stats.total,
    oldestPendingAgeSeconds: stats.oldestPendingAgeSeconds,
    lastEventReceivedAt: iso(stats.lastReceivedAt),
    ...(fallbacks === undefined ? {} : { groupFallbacks: fallbacks }),
  };
}

function eventSummary(row: WebhookEventRow) {
  return {
    id: row.id,
    type: row.type,
    status: row.status,
    attempts: row.attempts,
    created: new Date(row.created * 1000).toISOString(),
    receivedAt: iso(row.received_at),
    processedAt: iso(row.processed_at),
    nextAttemptAt: iso(row.next_attempt_at),
    lastError: row.last_error,
    outcome: row.outcome,
  };
}

export type EventSummary = ReturnType<typeof eventSummary>;

export class InvalidCursorError extends Error {}

/** Newest first; `cursor` is the opaque `nextCursor` of the previous page; `from` (inclusive) and `to` bound the arrival time (ms). */
export async function listEvents(
  db: Kysely<Database>,
  filter: { status?: WebhookEventStatus; type?: string; from?: number; to?: number; limit: number; cursor?: string },
): Promise<{ events: EventSummary[]; nextCursor: string | null }> {
  const after = filter.cursor ? decodeCursor(filter.cursor) : undefined;
  const rows = await db
    .selectFrom('webhook_events')
    .selectAll()
    .$if(filter.status !== undefined, (qb) => qb.where('status', '=', filter.status!))
    .$if(filter.type !== undefined, (qb) => qb.where('type', '=', filter.type!))
    .$if(filter.from !== undefined, (qb) => qb.where('received_at', '>=', filter.from!))
    .$if(filter.to !== undefined, (qb) => qb.where('received_at', '<', filter.to!))
    .$if(after !== undefined, (qb) =>
      qb.where((eb) => eb.or([eb('received_at', '<', after![0]), eb.and([eb('received_at', '=', after![0]), eb('id', '<', after![1])])])),
    )
    .orderBy('received_at', 'desc')
    .orderBy('id', 'desc')
    .limit(filter.limit + 1)
    .execute();
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    events: page.map(eventSummary),
    nextCursor: rows.length > filter.limit && last ? Buffer.from(JSON.stringify([last.received_at, last.id])).toString('base64url') : null,
  };
}

function decodeCursor(cursor: string): [number, string] {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && typeof value[0] === 'number' && typeof value[1] === 'string') return [value[0], value[1]];
  } catch {
    // fall through
  }
  throw new InvalidCursorError('cursor is not one this API returned');
}

/** A stored event's row and its raw payload (null if missing); undefined when the event is not stored. */
export function storedEvent(db: Kysely<Database>, id: string) {
  return db
    .selectFrom('webhook_events')
    .leftJoin('webhook_event_payloads', 'webhook_event_payloads.event_id', 'webhook_events.id')
    .selectAll('webhook_events')
    .select('webhook_event_payloads.payload')
    .where('id', '=', id)
    .executeTakeFirst();
}

/** One event with every processing attempt and its raw payload; undefined when not stored. */
export async function eventDetail(db: Kysely<Database>, id: string) {
  const row = await storedEvent(db, id);
  if (!row) return undefined;
  const [attempts, effects] = await Promise.all([
    db.selectFrom('event_attempts').selectAll().where('event_id', '=', id).orderBy('id').execute(),
    db.selectFrom('subscription_history').selectAll().where('event_id', '=', id).orderBy('id').execute(),
  ]);
  return {
    ...eventSummary(row),
    apiVersion: row.api_version,
    livemode: row.livemode === 1,
    orderingKey: row.ordering_key,
    lockedBy: row.locked_by,
    leaseUntil: iso(row.lease_until),
    attemptLog: attempts.map((a) => ({
      attempt: a.attempt,
      worker: a.worker,
      startedAt: iso(a.started_at),
      durationMs: a.finished_at - a.started_at,
      outcome: a.outcome,
      error: a.error,
    })),
    /** The record changes it made, from the subscription history. */
    effects: effects.map((h) => ({ subscriptionId: h.subscription_id, ...historyEntry(h) })),
    payload: row.payload === null ? null : (JSON.parse(row.payload) as unknown),
  };
}

/** One change of a subscription record: the event that made it, when, and what changed. */
function historyEntry(h: Selectable<Database['subscription_history']>) {
  return {
    eventId: h.event_id,
    eventType: h.event_type,
    eventCreated: new Date(h.event_created * 1000).toISOString(),
    appliedAt: iso(h.applied_at),
    statusBefore: h.status_before,
    statusAfter: h.status_after,
    changes: JSON.parse(h.changes) as Record<string, [unknown, unknown]>,
  };
}

/**
 * The users a query names, at most 20: a user id (or the user of a linked customer), a Stripe
 * customer id, a subscription id, or a verified email (compared trimmed and lower-cased).
 */
export async function findUsers(db: Kysely<Database>, query: string): Promise<string[]> {
  const q = query.trim();
  if (!q) return [];
  const email = q.toLowerCase();
  const [users, customers, subscriptions, emails] = await Promise.all([
    db.selectFrom('users').select('id as user').where('id', '=', q).execute(),
    db
      .selectFrom('customers')
      .select('user_id as user')
      .where((eb) => eb.or([eb('id', '=', q), eb('user_id', '=', q)]))
      .execute(),
    db
      .selectFrom('subscriptions')
      .innerJoin('customers', 'customers.id', 'subscriptions.customer_id')
      .select('customers.user_id as user')
      .where('subscriptions.id', '=', q)
      .execute(),
    db.selectFrom('account_emails').select('user_id as user').where('email', '=', email).execute(),
  ]);
  const found = [...users, ...customers, ...subscriptions, ...emails].flatMap((r) => (r.user ? [r.user] : []));
  return [...new Set(found)].slice(0, 20);
}

/** A user's link to Stripe, subscription records with their history, and the entitlement decision; undefined when unknown. */
export async function userDetail(options: EntitlementSettings, quotas: UsageQuotas, userId: string) {
  const { db } = options;
  const user = await db.selectFrom('users').select(['id', 'created_at']).where('id', '=', userId).executeTakeFirst();
  const customers = await db.selectFrom('customers').selectAll().where('user_id', '=', userId).execute();
  if (!user && customers.length === 0) return undefined;
  const customerIds = customers.map((c) => c.id);
  const subscriptions = customerIds.length
    ? await db.selectFrom('subscriptions').selectAll().where('customer_id', 'in', customerIds).execute()
    : [];
  const subscriptionIds = subscriptions.map((s) => s.id);
  const [payments, history] = subscriptionIds.length
    ? await Promise.all([
        db.selectFrom('subscription_payments').selectAll().where('subscription_id', 'in', subscriptionIds).execute(),
        db.selectFrom('subscription_history').selectAll().where('subscription_id', 'in', subscriptionIds).orderBy('id').execute(),
      ])
    : [[], []];
  const decision = await decisionOf(options, userId);
  const installs = await db
    .selectFrom('users')
    .select(['id', 'created_at'])
    .where('account_id', '=', userId)
    .where('id', '<>', userId) // an account's own row points at itself once installs joined it
    .orderBy('created_at')
    .execute();
  return {
    userId,
    createdAt: iso(user?.created_at ?? null),
    entitlement: decision.entitlement,
    usage: await quotas.summary(userId, decision),
    customers: customers.map((c) => ({
      id: c.id,
      linkedBy: c.linked_by,
      deleted: c.deleted === 1,
      features: c.features === null ? null : (JSON.parse(c.features) as string[]),
    })),
    subscriptions: subscriptions.map((row) => ({
      ...recordFromRow(row),
      payments: payments.find((p) => p.subscription_id === row.id) ?? null,
      history: history.filter((h) => h.subscription_id === row.id).map(historyEntry),
    })),
    /** The installs that act for this account (they verified one of its emails). */
    installs: installs.map((i) => ({ userId: i.id, createdAt: iso(i.created_at) })),
  };
}

/** A user's usage of every configured feature, and the plan each counts against. */
export async function usageView(options: EntitlementSettings, quotas: UsageQuotas, userId: string) {
  return { userId, usage: await quotas.summary(userId, await decisionOf(options, userId)) };
}

/** Resets one feature's current window for a user; undefined for a feature without limits. */
export async function resetUsageView(options: EntitlementSettings, quotas: UsageQuotas, userId: string, feature: string) {
  if (!quotas.has(feature)) return undefined;
  const decision = await decisionOf(options, userId);
  const taken = await quotas.reset(userId, feature, decision);
  return { userId, feature, reset: taken, usage: await quotas.stateOf(userId, feature, decision) };
}
