import { type Kysely, sql } from 'kysely';
import {
  type CustomerRow,
  type Database,
  type Dialect,
  executePrepared,
  type NewSubscriptionHistoryRow,
  type SubscriptionObservationRow,
  type SubscriptionPaymentsRow,
  type SubscriptionRow,
} from '../db/index.js';
import type { EventStamp, PaymentFacts, StatusObservation, SubscriptionRecord } from './decide.js';
import { diffRecords } from './decide.js';
import type { SubscriptionStatus } from './stripe-objects.js';

export type LinkResult = { linked: true } | { linked: false; existingUserId: string };

/**
 * The records handlers read and write: the database itself (SyncRepository), or a group of events'
 * state with buffered writes (EventRecords in group-records.ts).
 */
export interface SyncRecords {
  /** Serializes concurrent writers of one subscription across processes (PostgreSQL); SQLite writers are serial already. */
  lockSubscription(subscriptionId: string): Promise<void>;
  getSubscription(id: string): Promise<SubscriptionRecord | null>;
  /** Writes the record and one history row explaining the change. */
  saveSubscription(before: SubscriptionRecord | null, after: SubscriptionRecord, event: EventStamp): Promise<void>;
  /** Remembers what status this event showed (once per event), and returns every status seen for the subscription. */
  observeStatus(subscriptionId: string, event: EventStamp, status: string): Promise<StatusObservation[]>;
  getPaymentFacts(subscriptionId: string): Promise<PaymentFacts | null>;
  savePaymentFacts(before: PaymentFacts | null, after: PaymentFacts, event: EventStamp): Promise<void>;
  /** Links a customer to a user unless it already belongs to one: the first link wins. */
  linkCustomer(customerId: string, userId: string, linkedBy: string): Promise<LinkResult>;
  userExists(userId: string): Promise<boolean>;
  markCustomerDeleted(customerId: string): Promise<void>;
  /** Stores the customer's entitlement lookup keys unless a newer summary is already stored. */
  setCustomerFeatures(customerId: string, features: string[], eventCreated: number): Promise<boolean>;
}

/** A customer linked to its user, unless it is linked already: the first link wins. */
export type CustomerLink = Pick<CustomerRow, 'id' | 'user_id' | 'linked_by' | 'deleted' | 'updated_at'>;

/** Rows of sync's records to write: one event's at once, or a group's together at its end. */
export interface RecordWrites {
  observations: SubscriptionObservationRow[];
  subscriptions: SubscriptionRow[];
  payments: SubscriptionPaymentsRow[];
  history: NewSubscriptionHistoryRow[];
  links: CustomerLink[];
}

export function noWrites(): RecordWrites {
  return { observations: [], subscriptions: [], payments: [], history: [], links: [] };
}

/**
 * One statement per table that has rows (a single event's, or a whole group's). A group decides
 * its links from customers read without a lock: if one was linked meanwhile, this throws, and
 * the caller must roll back.
 */
export async function writeRecords(db: Kysely<Database>, writes: RecordWrites): Promise<void> {
  if (writes.observations.length > 0) {
    await executePrepared(
      db,
      db
        .insertInto('subscription_observations')
        .values(writes.observations)
        .onConflict((oc) => oc.columns(['subscription_id', 'event_id']).doNothing()),
    );
  }
  await upsert(db, 'subscriptions', 'id', writes.subscriptions);
  await upsert(db, 'subscription_payments', 'subscription_id', writes.payments);
  if (writes.history.length > 0) await executePrepared(db, db.insertInto('subscription_history').values(writes.history));
  if ((await insertLinks(db, writes.links)) < writes.links.length) throw new Error(LINKED_MEANWHILE);
}

export const LINKED_MEANWHILE = 'a customer was linked by another transaction meanwhile';

/** The last row of each key: PostgreSQL refuses to upsert one row twice in a statement. */
export function latestOfEach<T extends object>(rows: readonly T[], key: keyof T): T[] {
  return [...new Map(rows.map((row) => [row[key], row])).values()];
}

/** Links customers that are not linked yet; returns how many it linked. */
async function insertLinks(db: Kysely<Database>, links: CustomerLink[]): Promise<number> {
  if (links.length === 0) return 0;
  const linked = await executePrepared(
    db,
    db
      .insertInto('customers')
      .values(links)
      .onConflict((oc) =>
        oc
          .column('id')
          .doUpdateSet(({ ref }) => ({ user_id: ref('excluded.user_id'), linked_by: ref('excluded.linked_by'), updated_at: ref('excluded.updated_at') }))
          .where('customers.user_id', 'is', null),
      )
      .returning('id'),
  );
  return linked.rows.length;
}

export function customerLink(customerId: string, userId: string, linkedBy: string, now: number): CustomerLink {
  return { id: customerId, user_id: userId, linked_by: linkedBy, deleted: 0, updated_at: now };
}

/** What a link to `userId` did, given the user the customer belongs to now. */
export function linkResult(linkedUser: string, userId: string): LinkResult {
  return linkedUser === userId ? { linked: true } : { linked: false, existingUserId: linkedUser };
}

async function upsert<T extends 'subscriptions' | 'subscription_payments'>(db: Kysely<Database>, table: T, key: string, rows: Record<string, unknown>[]) {
  if (rows.length === 0) return;
  await executePrepared(
    db,
    db
      .insertInto(table)
      .values(latestOfEach(rows, key) as any)
      .onConflict((oc) =>
        oc.column(key as any).doUpdateSet(({ ref }) =>
          Object.fromEntries(Object.keys(rows[0]!).filter((k) => k !== key).map((k) => [k, ref(`excluded.${k}` as any)])) as any,
        ),
      ),
  );
}

/** The rows that store a subscription's new state and explain the change. */
export function subscriptionWrites(before: SubscriptionRecord | null, after: SubscriptionRecord, event: EventStamp, now: number): RecordWrites {
  return {
    ...noWrites(),
    subscriptions: [rowFromRecord(after, now)],
    history: [historyRow(after.id, event, before?.status ?? null, after.status, diffRecords(before, after), now)],
  };
}

export function paymentWrites(before: PaymentFacts | null, after: PaymentFacts, event: EventStamp, now: number): RecordWrites {
  return {
    ...noWrites(),
    payments: [
      {
        subscription_id: after.subscriptionId,
        last_payment_succeeded_at: after.lastPaymentSucceededAt,
        last_payment_failed_at: after.lastPaymentFailedAt,
        last_invoice_id: after.lastInvoiceId,
        updated_at: now,
      },
    ],
    history: [historyRow(after.subscriptionId, event, null, null, diffRecords(before, after), now)],
  };
}

export function observationRow(subscriptionId: string, event: EventStamp, status: string): SubscriptionObservationRow {
  return { subscription_id: subscriptionId, event_id: event.id, event_created: event.created, status };
}

export function statusesOf(observations: readonly SubscriptionObservationRow[]): StatusObservation[] {
  return observations.map((o) => ({ created: o.event_created, status: o.status as SubscriptionStatus }));
}

function historyRow(
  subscriptionId: string,
  event: EventStamp,
  statusBefore: string | null,
  statusAfter: string | null,
  changes: Record<string, [unknown, unknown]>,
  now: number,
): NewSubscriptionHistoryRow {
  return {
    subscription_id: subscriptionId,
    event_id: event.id,
    event_type: event.type,
    event_created: event.created,
    applied_at: now,
    status_before: statusBefore,
    status_after: statusAfter,
    changes: JSON.stringify(changes),
  };
}

/**
 * Takes the subscriptions' advisory locks until the transaction ends (PostgreSQL), in one order
 * for everyone so that two transactions locking several never wait on each other in a cycle.
 */
export async function lockSubscriptions(db: Kysely<Database>, dialect: Dialect, ids: readonly string[]): Promise<void> {
  if (dialect !== 'postgres' || ids.length === 0) return;
  await sql`select pg_advisory_xact_lock(hashtextextended(k, 0)) from unnest(${[...new Set(ids)]}::text[]) k order by k`.execute(db);
}

/** What sync reads of a subscription, by id; every id asked for is in the answer (null or [] when nothing is stored). */
export interface LoadedRecords {
  subscriptions: SubscriptionRecord | null;
  observations: SubscriptionObservationRow[];
  payments: PaymentFacts | null;
}

/** Each id's records from the rows read for those ids. */
const recordsByIds: { [K in keyof LoadedRecords]: (ids: readonly string[], rows: TableRows[K][]) => Map<string, LoadedRecords[K]> } = {
  subscriptions(ids, rows) {
    const found = new Map(rows.map((row) => [row.id, recordFromRow(row)]));
    return new Map(ids.map((id) => [id, found.get(id) ?? null]));
  },
  observations(ids, rows) {
    const byId = new Map(ids.map((id): [string, SubscriptionObservationRow[]] => [id, []]));
    for (const row of rows) byId.get(row.subscription_id)!.push(row);
    return byId;
  },
  payments(ids, rows) {
    const found = new Map(rows.map((row) => [row.subscription_id, paymentFactsFromRow(row)]));
    return new Map(ids.map((id) => [id, found.get(id) ?? null]));
  },
};

interface TableRows {
  subscriptions: SubscriptionRow;
  observations: SubscriptionObservationRow;
  payments: SubscriptionPaymentsRow;
}

const TABLES = { subscriptions: ['subscriptions', 'id'], observations: ['subscription_observations', 'subscription_id'], payments: ['subscription_payments', 'subscription_id'] } as const;

/** One kind of record for some subscriptions; every id asked for is in the answer. */
export async function loadRecords<K extends keyof LoadedRecords>(db: Kysely<Database>, kind: K, ids: readonly string[]): Promise<Map<string, LoadedRecords[K]>> {
  const [table, key] = TABLES[kind];
  const rows = ids.length > 0 ? await db.selectFrom(table).selectAll().where(key, 'in', ids).execute() : [];
  return recordsByIds[kind](ids, rows as TableRows[K][]);
}

/**
 * A group's records: the subscription events' records and observations, the invoice events'
 * payment facts. On PostgreSQL in one query (one round trip), each table's rows as a JSON array.
 */
export async function loadGroupRecords(
  db: Kysely<Database>,
  dialect: Dialect,
  subscriptionIds: readonly string[],
  invoiceIds: readonly string[],
): Promise<{ [K in keyof LoadedRecords]: Map<string, LoadedRecords[K]> }> {
  if (dialect === 'sqlite') {
    return {
      subscriptions: await loadRecords(db, 'subscriptions', subscriptionIds),
      observations: await loadRecords(db, 'observations', subscriptionIds),
      payments: await loadRecords(db, 'payments', invoiceIds),
    };
  }
  const rowsOf = (kind: keyof LoadedRecords, ids: readonly string[]) => {
    const [table, key] = TABLES[kind];
    return sql`(select coalesce(json_agg(t), '[]') from ${sql.table(table)} t where t.${sql.ref(key)} = any(${[...ids]}::text[]))`;
  };
  const { rows } = await sql<{ [K in keyof LoadedRecords]: TableRows[K][] }>`
    select ${rowsOf('subscriptions', subscriptionIds)} as subscriptions, ${rowsOf('observations', subscriptionIds)} as observations,
      ${rowsOf('payments', invoiceIds)} as payments`.execute(db);
  const [found] = rows as [{ [K in keyof LoadedRecords]: TableRows[K][] }];
  return {
    subscriptions: recordsByIds.subscriptions(subscriptionIds, found.subscriptions),
    observations: recordsByIds.observations(subscriptionIds, found.observations),
    payments: recordsByIds.payments(invoiceIds, found.payments),
  };
}

/** The user each customer is linked to (null when it is not, or not stored), and whether those users exist. */
export async function loadCustomerUsers(db: Kysely<Database>, ids: readonly string[]) {
  const rows = await db
    .selectFrom('customers as c')
    .leftJoin('users as u', 'u.id', 'c.user_id')
    .select(['c.id', 'c.user_id', 'u.id as known_user'])
    .where('c.id', 'in', ids)
    .execute();
  const found = new Map(rows.map((row) => [row.id, row]));
  const customerUsers = new Map(ids.map((id) => [id, found.get(id)?.user_id ?? null]));
  const users = new Map(rows.flatMap((row) => (row.user_id === null ? [] : [[row.user_id, row.known_user !== null] as const])));
  return { customerUsers, users };
}

/** Sync's records in the database, read and written at once; always inside the transaction that marks the event applied. */
export class SyncRepository implements SyncRecords {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly now: () => number = Date.now,
  ) {}

  async lockSubscription(subscriptionId: string): Promise<void> {
    await lockSubscriptions(this.db, this.dialect, [subscriptionId]);
  }

  async getSubscription(id: string): Promise<SubscriptionRecord | null> {
    return (await loadRecords(this.db, 'subscriptions', [id])).get(id)!;
  }

  async saveSubscription(before: SubscriptionRecord | null, after: SubscriptionRecord, event: EventStamp): Promise<void> {
    await writeRecords(this.db, subscriptionWrites(before, after, event, this.now()));
  }

  async observeStatus(subscriptionId: string, event: EventStamp, status: string): Promise<StatusObservation[]> {
    await writeRecords(this.db, { ...noWrites(), observations: [observationRow(subscriptionId, event, status)] });
    return statusesOf((await loadRecords(this.db, 'observations', [subscriptionId])).get(subscriptionId)!);
  }

  async getPaymentFacts(subscriptionId: string): Promise<PaymentFacts | null> {
    return (await loadRecords(this.db, 'payments', [subscriptionId])).get(subscriptionId)!;
  }

  async savePaymentFacts(before: PaymentFacts | null, after: PaymentFacts, event: EventStamp): Promise<void> {
    await writeRecords(this.db, paymentWrites(before, after, event, this.now()));
  }

  async linkCustomer(customerId: string, userId: string, linkedBy: string): Promise<LinkResult> {
    await insertLinks(this.db, [customerLink(customerId, userId, linkedBy, this.now())]);
    const row = await this.db.selectFrom('customers').select('user_id').where('id', '=', customerId).executeTakeFirstOrThrow();
    return linkResult(row.user_id!, userId);
  }

  async userExists(userId: string): Promise<boolean> {
    return (await this.db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst()) !== undefined;
  }

  async markCustomerDeleted(customerId: string): Promise<void> {
    const now = this.now();
    await this.db
      .insertInto('customers')
      .values({ id: customerId, deleted: 1, updated_at: now })
      .onConflict((oc) => oc.column('id').doUpdateSet({ deleted: 1, updated_at: now }))
      .execute();
  }

  async setCustomerFeatures(customerId: string, features: string[], eventCreated: number): Promise<boolean> {
    const now = this.now();
    const json = JSON.stringify(features);
    const result = await this.db
      .insertInto('customers')
      .values({ id: customerId, deleted: 0, features: json, features_event_created: eventCreated, updated_at: now })
      .onConflict((oc) =>
        oc
          .column('id')
          .doUpdateSet({ features: json, features_event_created: eventCreated, updated_at: now })
          .where((eb) =>
            eb.or([eb('customers.features_event_created', 'is', null), eb('customers.features_event_created', '<=', eventCreated)]),
          ),
      )
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }
}

/** The columns a subscription's access depends on: all that an entitlement check reads (src/entitlements). */
export type AccessRow = Pick<
  SubscriptionRow,
  'id' | 'customer_id' | 'status' | 'price_id' | 'product_id' | 'current_period_end' | 'cancel_at_period_end' | 'cancel_at' | 'past_due_since' | 'last_event_created'
>;

export type AccessRecord = Pick<
  SubscriptionRecord,
  'id' | 'customerId' | 'status' | 'priceId' | 'productId' | 'currentPeriodEnd' | 'cancelAtPeriodEnd' | 'cancelAt' | 'pastDueSince' | 'lastEventCreated'
>;

export function accessRecordFromRow(row: AccessRow): AccessRecord {
  return {
    id: row.id,
    customerId: row.customer_id,
    status: row.status as SubscriptionStatus,
    priceId: row.price_id,
    productId: row.product_id,
    currentPeriodEnd: row.current_period_end,
    cancelAtPeriodEnd: row.cancel_at_period_end === 1,
    cancelAt: row.cancel_at,
    pastDueSince: row.past_due_since,
    lastEventCreated: row.last_event_created,
  };
}

export function recordFromRow(row: SubscriptionRow): SubscriptionRecord {
  return {
    ...accessRecordFromRow(row),
    currentPeriodStart: row.current_period_start,
    canceledAt: row.canceled_at,
    endedAt: row.ended_at,
    trialEnd: row.trial_end,
    lastEventId: row.last_event_id,
    lastEventType: row.last_event_type,
    syncedAt: row.synced_at,
  };
}

function paymentFactsFromRow(row: SubscriptionPaymentsRow): PaymentFacts {
  return {
    subscriptionId: row.subscription_id,
    lastPaymentSucceededAt: row.last_payment_succeeded_at,
    lastPaymentFailedAt: row.last_payment_failed_at,
    lastInvoiceId: row.last_invoice_id,
  };
}

function rowFromRecord(r: SubscriptionRecord, now: number): SubscriptionRow {
  return {
    id: r.id,
    customer_id: r.customerId,
    status: r.status,
    price_id: r.priceId,
    product_id: r.productId,
    current_period_start: r.currentPeriodStart,
    current_period_end: r.currentPeriodEnd,
    cancel_at_period_end: r.cancelAtPeriodEnd ? 1 : 0,
    cancel_at: r.cancelAt,
    canceled_at: r.canceledAt,
    ended_at: r.endedAt,
    trial_end: r.trialEnd,
    past_due_since: r.pastDueSince,
    last_event_id: r.lastEventId,
    last_event_type: r.lastEventType,
    last_event_created: r.lastEventCreated,
    synced_at: r.syncedAt,
    updated_at: now,
  };
}
