import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type CompiledQuery, type Kysely, sql } from 'kysely';
import { Batcher, type Database, type Dialect, dialectOf, preparedOnPostgres } from '../db/index.js';
import { type AccessRow, accessRecordFromRow } from '../subscriptions/index.js';
import { type Authenticator, bearerTokenHash, unauthorized } from '../users/index.js';
import { decideEntitlement, type Entitlement } from './decide.js';

export { accessOf, decideEntitlement, type Entitlement } from './decide.js';

/** What deciding an entitlement needs. */
export interface EntitlementSettings {
  db: Kysely<Database>;
  pastDueGraceHours: number;
  priceFeatures: Record<string, string[]>;
  now?: () => number;
}

/** What the routes and the premium guard need besides. */
export interface EntitlementOptions extends EntitlementSettings {
  authenticator: Authenticator;
  /** Told of every check's result (for metrics). */
  onCheck?: (result: 'premium' | 'not_premium' | 'unauthorized') => void;
}

/** The subscription columns a check reads: those its decision depends on (AccessRow). */
const CHECK_COLUMNS = [
  'subscriptions.id',
  'subscriptions.customer_id',
  'subscriptions.status',
  'subscriptions.price_id',
  'subscriptions.product_id',
  'subscriptions.current_period_end',
  'subscriptions.cancel_at_period_end',
  'subscriptions.cancel_at',
  'subscriptions.past_due_since',
  'subscriptions.last_event_created',
  'customers.features as customer_features',
] as const;

type CheckRow = AccessRow & { customer_features: string | null };

/** The pure part of a check: the decision over the user's subscription rows. */
function decideFromRows(options: EntitlementSettings, rows: readonly CheckRow[]): Entitlement {
  const customerFeatures: Record<string, string[] | null> = {};
  for (const row of rows) customerFeatures[row.customer_id] = row.customer_features ? (JSON.parse(row.customer_features) as string[]) : null;
  return decideEntitlement({
    subscriptions: rows.map(accessRecordFromRow),
    customerFeatures,
    priceFeatures: options.priceFeatures,
    now: Math.floor((options.now ?? Date.now)() / 1000),
    pastDueGraceHours: options.pastDueGraceHours,
  });
}

/** Reads the user's subscriptions on every call: no cache that a processed webhook could outrun. */
export async function entitlementOf(options: EntitlementSettings, userId: string): Promise<Entitlement> {
  const rows = await options.db
    .selectFrom('subscriptions')
    .innerJoin('customers', 'customers.id', 'subscriptions.customer_id')
    .select(CHECK_COLUMNS)
    .where('customers.user_id', '=', userId)
    .execute();
  return decideFromRows(options, rows);
}

/**
 * Authenticates the request and decides its user's entitlement; undefined without a valid token.
 * An opaque token takes one query (token hash → user → customers → subscriptions, all by index),
 * since this sits in every premium request; a JWT is verified first, then its user's rows read.
 */
async function check(options: EntitlementOptions, request: FastifyRequest): Promise<{ userId: string; entitlement: Entitlement } | undefined> {
  const opaque = await checkOpaqueToken(options, request);
  const checked = opaque === undefined ? await checkJwt(options, request) : opaque;
  options.onCheck?.(checked ? (checked.entitlement.premium ? 'premium' : 'not_premium') : 'unauthorized');
  return checked ?? undefined;
}

/**
 * The users and subscription rows of many token hashes at once. One SQL text serves any number of
 * hashes, passed as one parameter: an array on PostgreSQL, a JSON array read by `json_each` on SQLite.
 * Exported for the test that reads its plan.
 */
export function rowsByTokenHashes(db: Kysely<Database>, dialect: Dialect) {
  const tokenHashIn = dialect === 'postgres' ? sql<boolean>`"users"."token_hash" = any(${[]})` : sql<boolean>`"users"."token_hash" in (select value from json_each(${'[]'}))`;
  return db
    .selectFrom('users')
    .leftJoin('customers', 'customers.user_id', 'users.id')
    .leftJoin('subscriptions', 'subscriptions.customer_id', 'customers.id')
    .select([...CHECK_COLUMNS, 'users.id as user_id', 'users.token_hash as token_hash'])
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
    const { rows } = await db.executeQuery<TokenRow>({ ...compiled, parameters: [dialect === 'postgres' ? distinct : JSON.stringify(distinct)] });
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
  if (!lookups) lookupsByDb.set(db, (lookups = tokenLookups(db)));
  return lookups.submit(tokenHash);
}

/** undefined: not an opaque token; null: an unknown one. */
async function checkOpaqueToken(options: EntitlementOptions, request: FastifyRequest) {
  const tokenHash = bearerTokenHash(request);
  if (!tokenHash) return undefined;
  const rows = await rowsForTokenHash(options.db, tokenHash);
  if (rows.length === 0) return null;
  // Left joins: a user without subscriptions comes back as one row of nulls.
  const subscriptions = rows.filter((r): r is (typeof rows)[number] & CheckRow => r.id !== null);
  return { userId: rows[0]!.user_id, entitlement: decideFromRows(options, subscriptions) };
}

async function checkJwt(options: EntitlementOptions, request: FastifyRequest) {
  const userId = await options.authenticator.userId(request);
  return userId ? { userId, entitlement: await entitlementOf(options, userId) } : null;
}

/**
 * The guard every premium route uses: 401 without a valid token, 402 when the user is not premium.
 * Use as a `preHandler`, together with `config: { rateLimit: 'auth' }` so that its 401s count
 * towards the per-address limit (src/users/rate-limit.ts).
 */
export function premiumGuard(options: EntitlementOptions) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const checked = await check(options, request);
    if (!checked) return unauthorized(reply);
    const { entitlement } = checked;
    if (!entitlement.premium) {
      return reply.code(402).send({ error: 'premium_required', reason: entitlement.reason });
    }
  };
}

export function entitlementRoutes(app: FastifyInstance, options: EntitlementOptions): void {
  // Cache-Control: no-store comes with every answer (src/http/security-headers.ts).
  app.get('/v1/entitlements', { config: { rateLimit: 'auth' } }, async (request, reply) => {
    const checked = await check(options, request);
    if (!checked) return unauthorized(reply);
    return { userId: checked.userId, ...checked.entitlement };
  });

  app.get('/v1/premium/ping', { config: { rateLimit: 'auth' }, preHandler: premiumGuard(options) }, async () => ({ ok: true }));
}
