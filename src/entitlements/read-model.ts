import { type CompiledQuery, type Kysely, sql } from 'kysely';
import { Batcher, type Database, type Dialect, dialectOf, preparedOnPostgres, type SubscriptionRow } from '../db/index.js';
import type { SubscriptionRecord, SubscriptionStatus } from '../subscriptions/index.js';

/**
 * The entitlement read model: what a check reads of the records sync writes (src/subscriptions),
 * and the queries that read it. A check reads only these columns, so nothing else can change an answer.
 */

/** The columns a subscription's access depends on. */
export type AccessRow = Pick<
  SubscriptionRow,
  | 'id'
  | 'customer_id'
  | 'status'
  | 'price_id'
  | 'product_id'
  | 'current_period_start'
  | 'current_period_end'
  | 'cancel_at_period_end'
  | 'cancel_at'
  | 'past_due_since'
  | 'last_event_created'
>;

export type AccessRecord = Pick<
  SubscriptionRecord,
  | 'id'
  | 'customerId'
  | 'status'
  | 'priceId'
  | 'productId'
  | 'currentPeriodStart'
  | 'currentPeriodEnd'
  | 'cancelAtPeriodEnd'
  | 'cancelAt'
  | 'pastDueSince'
  | 'lastEventCreated'
>;

export function accessRecordFromRow(row: AccessRow): AccessRecord {
  return {
    id: row.id,
    customerId: row.customer_id,
    status: row.status as SubscriptionStatus,
    priceId: row.price_id,
    productId: row.product_id,
    currentPeriodStart: row.current_period_start,
    currentPeriodEnd: row.current_period_end,
    cancelAtPeriodEnd: row.cancel_at_period_end === 1,
    cancelAt: row.cancel_at,
    pastDueSince: row.past_due_since,
    lastEventCreated: row.last_event_created,
  };
}

/** The subscription columns a check reads: those its decision depends on (AccessRow). */
const CHECK_COLUMNS = [
  'subscriptions.id',
  'subscriptions.customer_id',
  'subscriptions.status',
  'subscriptions.price_id',
  'subscriptions.product_id',
  'subscriptions.current_period_start',
  'subscriptions.current_period_end',
  'subscriptions.cancel_at_period_end',
  'subscriptions.cancel_at',
  'subscriptions.past_due_since',
  'subscriptions.last_event_created',
  'customers.features as customer_features',
] as const;

export type CheckRow = AccessRow & { customer_features: string | null };

/**
 * An account's subscription rows: those of its own user and of every user that acts for it (an
 * install that verified the account's email keeps its own subscriptions, and they count here).
 */
export function rowsForUser(db: Kysely<Database>, accountId: string): Promise<CheckRow[]> {
  return db
    .selectFrom('subscriptions')
    .innerJoin('customers', 'customers.id', 'subscriptions.customer_id')
    .select(CHECK_COLUMNS)
    .where((eb) =>
      eb.or([
        eb('customers.user_id', '=', accountId),
        eb('customers.user_id', 'in', eb.selectFrom('users').select('users.id').where('users.account_id', '=', accountId)),
      ]),
    )
    .execute();
}

/**
 * The users and subscription rows of many token hashes at once. One SQL text serves any number of
 * hashes, passed as one parameter: an array on PostgreSQL, a JSON array read by `json_each` on SQLite.
 * Exported for the test that reads its plan.
 */
export function rowsByTokenHashes(db: Kysely<Database>, dialect: Dialect) {
  const tokenHashIn =
    dialect === 'postgres'
      ? sql<boolean>`"users"."token_hash" = any(${[]})`
      : sql<boolean>`"users"."token_hash" in (select value from json_each(${'[]'}))`;
  // An account's users all carry its id in `account_id`, its own user too; a user on its own has
  // none, and then its own customers count (see rowsForUser).
  const account = sql<string>`coalesce("users"."account_id", "users"."id")`;
  return db
    .selectFrom('users')
    .leftJoin('users as members', 'members.account_id', 'users.account_id')
    .leftJoin('customers', (join) => join.on('customers.user_id', '=', sql<string>`coalesce("members"."id", "users"."id")`))
    .leftJoin('subscriptions', 'subscriptions.customer_id', 'customers.id')
    .select([...CHECK_COLUMNS, account.as('user_id'), 'users.token_hash as token_hash'])
    .where(tokenHashIn)
    .compile();
}

type TokenRow = ReturnType<typeof rowsByTokenHashes> extends CompiledQuery<infer R> ? R : never;

/**
 * The checks that arrive together share one query (a Batcher): per check, that costs half of a
 * query of its own on SQLite, and a fraction of a round trip on PostgreSQL (docs/performance.md).
 * The query is built and compiled once per database, and read at the time of the batch, so it
 * is never older than its checks.
 */
function tokenLookups(db: Kysely<Database>): Batcher<string, TokenRow[]> {
  const dialect = dialectOf(db);
  const compiled = preparedOnPostgres(rowsByTokenHashes(db, dialect));
  return new Batcher(async (tokenHashes) => {
    const distinct = [...new Set(tokenHashes)];
    const { rows } = await db.executeQuery<TokenRow>({
      ...compiled,
      parameters: [dialect === 'postgres' ? distinct : JSON.stringify(distinct)],
    });
    const byHash = new Map<string, TokenRow[]>();
    for (const row of rows) {
      const ofHash = byHash.get(row.token_hash!);
      if (ofHash) ofHash.push(row);
      else byHash.set(row.token_hash!, [row]);
    }
    return tokenHashes.map((hash) => byHash.get(hash) ?? []);
  });
}

const lookupsByDb = new WeakMap<Kysely<Database>, Batcher<string, TokenRow[]>>();

/**
 * The one database read of a check by opaque token: its user's id and subscription rows, or no
 * row for an unknown token. Exported for the benchmark, which measures this lookup alone.
 */
export function rowsForTokenHash(db: Kysely<Database>, tokenHash: string): Promise<TokenRow[]> {
  let lookups = lookupsByDb.get(db);
  if (!lookups) {
    lookups = tokenLookups(db);
    lookupsByDb.set(db, lookups);
  }
  return lookups.submit(tokenHash);
}
