import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.js';
import { recordFromRow } from '../subscriptions/index.js';
import { authenticate, unauthorized } from '../users/index.js';
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

/**
 * The guard every premium route uses: 401 without a valid token, 402 when the user is not premium.
 * Use as a `preHandler`; the decision is on `request.entitlement` afterwards.
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
  app.get('/v1/entitlements', async (request, reply) => {
    const userId = await authenticate(options.db, request);
    if (!userId) return unauthorized(reply);
    const entitlement = await entitlementOf(options, userId);
    return reply.header('cache-control', 'no-store').send({ userId, ...entitlement });
  });

  app.get('/v1/premium/ping', { preHandler: premiumGuard(options) }, async () => ({ ok: true }));
}
