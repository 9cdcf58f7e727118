import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database, SubscriptionRow } from '../db/index.js';
import { recordFromRow } from '../subscriptions/index.js';
import { bearerTokenHash } from '../users/index.js';
import { decideEntitlement, type Entitlement } from './decide.js';

export { accessOf, decideEntitlement, type Entitlement } from './decide.js';

export interface EntitlementOptions {
  db: Kysely<Database>;
  pastDueGraceHours: number;
  priceFeatures: Record<string, string[]>;
  now?: () => number;
  /** Told of every check's result (for metrics). */
  onCheck?: (result: 'premium' | 'not_premium' | 'unauthorized') => void;
}

type SubscriptionWithFeatures = SubscriptionRow & { customer_features: string | null };

/** The pure part of a check: the decision over the user's subscription rows. */
function decideFromRows(options: EntitlementOptions, rows: readonly SubscriptionWithFeatures[]): Entitlement {
  const customerFeatures: Record<string, string[] | null> = {};
  for (const row of rows) customerFeatures[row.customer_id] = row.customer_features ? (JSON.parse(row.customer_features) as string[]) : null;
  return decideEntitlement({
    subscriptions: rows.map(recordFromRow),
    customerFeatures,
    priceFeatures: options.priceFeatures,
    now: Math.floor((options.now ?? Date.now)() / 1000),
    pastDueGraceHours: options.pastDueGraceHours,
  });
}

/** Reads the user's subscriptions on every call: no cache that a processed webhook could outrun. */
export async function entitlementOf(options: EntitlementOptions, userId: string): Promise<Entitlement> {
  const rows = await options.db
    .selectFrom('subscriptions')
    .innerJoin('customers', 'customers.id', 'subscriptions.customer_id')
    .selectAll('subscriptions')
    .select(['customers.features as customer_features'])
    .where('customers.user_id', '=', userId)
    .execute();
  return decideFromRows(options, rows);
}

/**
 * Authenticates the request and decides its user's entitlement in one query (token hash →
 * user → customers → subscriptions, all by index); undefined without a valid token.
 */
async function check(options: EntitlementOptions, request: FastifyRequest): Promise<{ userId: string; entitlement: Entitlement } | undefined> {
  const tokenHash = bearerTokenHash(request);
  const rows = tokenHash
    ? await options.db
        .selectFrom('users')
        .leftJoin('customers', 'customers.user_id', 'users.id')
        .leftJoin('subscriptions', 'subscriptions.customer_id', 'customers.id')
        .selectAll('subscriptions')
        .select(['users.id as user_id', 'customers.features as customer_features'])
        .where('users.token_hash', '=', tokenHash)
        .execute()
    : [];
  if (rows.length === 0) {
    options.onCheck?.('unauthorized');
    return undefined;
  }
  // Left joins: a user without subscriptions comes back as one row of nulls.
  const subscriptions = rows.filter((r): r is (typeof rows)[number] & SubscriptionWithFeatures => r.id !== null);
  const entitlement = decideFromRows(options, subscriptions);
  options.onCheck?.(entitlement.premium ? 'premium' : 'not_premium');
  return { userId: rows[0]!.user_id, entitlement };
}

function unauthorized(reply: FastifyReply) {
  return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'a valid bearer token is required' });
}

/**
 * The guard every premium route uses: 401 without a valid token, 402 when the user is not premium.
 * Use as a `preHandler`; the decision is on `request.entitlement` afterwards.
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
  app.get('/v1/entitlements', async (request, reply) => {
    const checked = await check(options, request);
    if (!checked) return unauthorized(reply);
    return reply.header('cache-control', 'no-store').send({ userId: checked.userId, ...checked.entitlement });
  });

  app.get('/v1/premium/ping', { preHandler: premiumGuard(options) }, async () => ({ ok: true }));
}
