import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.js';
import { recordFromRow } from '../subscriptions/index.js';
import { authenticate } from '../users/index.js';
import { decideEntitlement, type Entitlement } from './decide.js';

export { accessOf, decideEntitlement, type Entitlement } from './decide.js';

export interface EntitlementOptions {
  db: Kysely<Database>;
  pastDueGraceHours: number;
  priceFeatures: Record<string, string[]>;
  now?: () => number;
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

function unauthorized(reply: FastifyReply) {
  return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'a valid bearer token is required' });
}

/**
 * The guard every premium route uses: 401 without a valid token, 402 when the user is not premium.
 * Use as a `preHandler`, together with `config: { rateLimit: 'auth' }` so that its 401s count
 * towards the per-address limit (src/users/rate-limit.ts).
 */
export function premiumGuard(options: EntitlementOptions) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const userId = await authenticate(options.db, request);
    if (!userId) return unauthorized(reply);
    const entitlement = await entitlementOf(options, userId);
    if (!entitlement.premium) {
      return reply.code(402).send({ error: 'premium_required', reason: entitlement.reason });
    }
  };
}

export function entitlementRoutes(app: FastifyInstance, options: EntitlementOptions): void {
  // Cache-Control: no-store comes with every answer (src/http/security-headers.ts).
  app.get('/v1/entitlements', { config: { rateLimit: 'auth' } }, async (request, reply) => {
    const userId = await authenticate(options.db, request);
    if (!userId) return unauthorized(reply);
    return { userId, ...(await entitlementOf(options, userId)) };
  });

  app.get('/v1/premium/ping', { config: { rateLimit: 'auth' }, preHandler: premiumGuard(options) }, async () => ({ ok: true }));
}
