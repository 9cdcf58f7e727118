import { type Kysely, sql } from 'kysely';
import type { Database, Dialect, SubscriptionObservationRow, SubscriptionPaymentsRow, SubscriptionRow } from '../../db/index.js';
import type { PaymentFacts, SeenStatus, SubscriptionRecord } from '../decide.js';
import { paymentFactsFromRow, recordFromRow, seenStatusOf } from './rows.js';

/** What a customer's row says to sync: who it belongs to, and the `created` of its stored entitlement summary. */
export interface CustomerState {
  userId: string | null;
  featuresCreated: number | null;
  emailCreated: number | null;
}

/** What sync reads, by id; every id asked for is in the answer (null or [] when nothing is stored). */
export interface Known {
  subscriptions: Map<string, SubscriptionRecord | null>;
  statuses: Map<string, SeenStatus[]>;
  payments: Map<string, PaymentFacts | null>;
  customers: Map<string, CustomerState | null>;
  /** Whether each user exists. */
  users: Map<string, boolean>;
}

export type KnownKind = keyof Known;
export type KnownValue<K extends KnownKind> = Known[K] extends Map<string, infer V> ? V : never;

export function nothingKnown(): Known {
  return { subscriptions: new Map(), statuses: new Map(), payments: new Map(), customers: new Map(), users: new Map() };
}

/**
 * Takes the subscriptions' advisory locks until the transaction ends (PostgreSQL), in one order
 * for everyone so that two transactions locking several never wait on each other in a cycle.
 */
export async function lockSubscriptions(db: Kysely<Database>, dialect: Dialect, ids: readonly string[]): Promise<void> {
  if (dialect !== 'postgres' || ids.length === 0) return;
  await sql`select pg_advisory_xact_lock(hashtextextended(k, 0)) from unnest(${[...new Set(ids)]}::text[]) k order by k`.execute(db);
}

interface TableRows {
  subscriptions: SubscriptionRow;
  statuses: SubscriptionObservationRow;
  payments: SubscriptionPaymentsRow;
}
type SubscriptionKind = keyof TableRows;

const TABLES = {
  subscriptions: ['subscriptions', 'id'],
  statuses: ['subscription_observations', 'subscription_id'],
  payments: ['subscription_payments', 'subscription_id'],
} as const;

/** Each id's value from the rows read for those ids. */
const byIds: { [K in SubscriptionKind]: (ids: readonly string[], rows: TableRows[K][]) => Known[K] } = {
  subscriptions(ids, rows) {
    const found = new Map(rows.map((row) => [row.id, recordFromRow(row)]));
    return new Map(ids.map((id) => [id, found.get(id) ?? null]));
  },
  statuses(ids, rows) {
    const byId = new Map(ids.map((id): [string, SeenStatus[]] => [id, []]));
    for (const row of rows) byId.get(row.subscription_id)!.push(seenStatusOf(row));
    return byId;
  },
  payments(ids, rows) {
    const found = new Map(rows.map((row) => [row.subscription_id, paymentFactsFromRow(row)]));
    return new Map(ids.map((id) => [id, found.get(id) ?? null]));
  },
};

/** One kind of a subscription's records, for some subscriptions. */
export async function loadOfSubscriptions<K extends SubscriptionKind>(
  db: Kysely<Database>,
  kind: K,
  ids: readonly string[],
): Promise<Known[K]> {
  const [table, key] = TABLES[kind];
  const rows = ids.length > 0 ? await db.selectFrom(table).selectAll().where(key, 'in', ids).execute() : [];
  return byIds[kind](ids, rows as TableRows[K][]);
}

/**
 * What a group's events read of their subscriptions: records and observations, payment facts.
 * On PostgreSQL in one query (one round trip), each table's rows as a JSON array.
 */
export async function loadSubscriptions(
  db: Kysely<Database>,
  dialect: Dialect,
  ids: { subscriptions: readonly string[]; payments: readonly string[] },
): Promise<Pick<Known, SubscriptionKind>> {
  const { subscriptions, payments } = ids;
  if (dialect === 'sqlite') {
    return {
      subscriptions: await loadOfSubscriptions(db, 'subscriptions', subscriptions),
      statuses: await loadOfSubscriptions(db, 'statuses', subscriptions),
      payments: await loadOfSubscriptions(db, 'payments', payments),
    };
  }
  const rowsOf = (kind: SubscriptionKind, of: readonly string[]) => {
    const [table, key] = TABLES[kind];
    return sql`(select coalesce(json_agg(t), '[]') from ${sql.table(table)} t where t.${sql.ref(key)} = any(${[...of]}::text[]))`;
  };
  const { rows } = await sql<{ [K in SubscriptionKind]: TableRows[K][] }>`
    select ${rowsOf('subscriptions', subscriptions)} as subscriptions, ${rowsOf('statuses', subscriptions)} as statuses,
      ${rowsOf('payments', payments)} as payments`.execute(db);
  const [found] = rows as [{ [K in SubscriptionKind]: TableRows[K][] }];
  return {
    subscriptions: byIds.subscriptions(subscriptions, found.subscriptions),
    statuses: byIds.statuses(subscriptions, found.statuses),
    payments: byIds.payments(payments, found.payments),
  };
}

/**
 * The customers' states (null when not stored) and whether the users they belong to exist. Read without locks: links are checked again when
 * written.
 */
export async function loadCustomers(db: Kysely<Database>, ids: readonly string[]): Promise<Pick<Known, 'customers' | 'users'>> {
  const rows =
    ids.length === 0
      ? []
      : await db
          .selectFrom('customers as c')
          .leftJoin('users as u', 'u.id', 'c.user_id')
          .select(['c.id', 'c.user_id', 'c.features_event_created', 'c.email_event_created', 'u.id as known_user'])
          .where('c.id', 'in', ids)
          .execute();
  const found = new Map(
    rows.map((row) => [
      row.id,
      { userId: row.user_id, featuresCreated: row.features_event_created, emailCreated: row.email_event_created },
    ]),
  );
  const customers = new Map(ids.map((id) => [id, found.get(id) ?? null]));
  const users = new Map(rows.flatMap((row) => (row.user_id === null ? [] : [[row.user_id, row.known_user !== null] as const])));
  return { customers, users };
}

export async function userExists(db: Kysely<Database>, userId: string): Promise<boolean> {
  return (await db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst()) !== undefined;
}
