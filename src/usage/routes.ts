import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { UsageLimits } from '../config/index.js';
import type { Store } from '../db/index.js';
import { checkRequest, type Decision, type EntitlementOptions } from '../entitlements/index.js';
import { parseInput } from '../http/index.js';
import { unauthorized } from '../users/index.js';
import { limitFor, stateOf, type UsageState, windowOf } from './decide.js';
import { consume, resetUsage, usedIn, usedInWindows } from './store.js';

/** Usage quotas: `POST /v1/usage/:feature` consumes, `GET /v1/usage/:feature` reads, and every entitlement answer reports them. */

type ConsumeResult = 'allowed' | 'refused' | 'replayed';

export class UsageQuotas {
  constructor(
    private readonly store: Store,
    readonly limits: UsageLimits,
    private readonly now: () => number = Date.now,
  ) {}

  has(feature: string): boolean {
    return Object.hasOwn(this.limits, feature);
  }

  /** Where a feature's quota stands for a user on the plan their decision grants. */
  async stateOf(userId: string, feature: string, decision: Decision): Promise<UsageState> {
    const { applied, window } = this.quotaOf(feature, decision);
    return stateOf(await usedIn(this.store.db, userId, feature, window), applied, window);
  }

  /** Every configured feature's state, read in one query: the `usage` of an entitlement answer. */
  async summary(userId: string, decision: Decision): Promise<Record<string, UsageState>> {
    const nowMs = this.now();
    const quotas = Object.keys(this.limits).map((feature) => ({ feature, ...this.quotaOf(feature, decision, nowMs) }));
    const used = await usedInWindows(this.store.db, userId, Object.fromEntries(quotas.map((q) => [q.feature, q.window])));
    return Object.fromEntries(quotas.map((q) => [q.feature, stateOf(used[q.feature] ?? 0, q.applied, q.window)]));
  }

  consume(userId: string, feature: string, decision: Decision, amount: number, idempotencyKey: string | undefined) {
    const nowMs = this.now();
    return consume(this.store, { userId, feature, amount, idempotencyKey, ...this.quotaOf(feature, decision, nowMs), nowMs });
  }

  /** An operator's reset of the current window; returns what it had counted. */
  reset(userId: string, feature: string, decision: Decision): Promise<number> {
    const nowMs = this.now();
    return resetUsage(this.store, userId, feature, this.quotaOf(feature, decision, nowMs).window, nowMs);
  }

  private quotaOf(feature: string, decision: Decision, nowMs = this.now()) {
    const applied = limitFor(this.limits[feature]!, decision.plan);
    return { applied, window: windowOf(applied.per, decision.plan, nowMs) };
  }
}

const consumeBody = z.strictObject({
  amount: z.number().int('must be a whole number').min(1, 'must be at least 1').max(1_000_000, 'must be at most 1000000').default(1),
  idempotencyKey: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters').optional(),
});

export interface UsageRouteOptions {
  quotas: UsageQuotas;
  entitlements: EntitlementOptions;
  /** Told of every consumption's result (for metrics): the feature only, never the user. */
  onConsume?: (feature: string, result: ConsumeResult) => void;
}

export function usageRoutes(app: FastifyInstance, options: UsageRouteOptions): void {
  const { quotas } = options;
  const unknownFeature = (reply: FastifyReply) =>
    reply.code(404).send({ error: 'unknown_feature', message: 'no usage limits are configured for this feature' });

  app.post<{ Params: { feature: string } }>('/v1/usage/:feature', { config: { rateLimit: 'auth' } }, async (request, reply) => {
    const checked = await checkRequest(options.entitlements, request);
    if (!checked) return unauthorized(reply);
    const { feature } = request.params;
    if (!quotas.has(feature)) return unknownFeature(reply);
    const body = parseInput(consumeBody, 'body', request, reply);
    if (!body) return reply;
    const consumed = await quotas.consume(checked.userId, feature, checked.decision, body.amount, body.idempotencyKey);
    options.onConsume?.(feature, consumed.replayed ? 'replayed' : consumed.allowed ? 'allowed' : 'refused');
    const answer = { allowed: consumed.allowed, feature, ...consumed.state };
    if (consumed.allowed) return answer;
    request.log.info({ userId: checked.userId, feature, amount: body.amount, ...consumed.state }, 'usage refused: quota exceeded');
    return reply.code(402).send({ error: 'quota_exceeded', ...answer });
  });

  app.get<{ Params: { feature: string } }>('/v1/usage/:feature', { config: { rateLimit: 'auth' } }, async (request, reply) => {
    const checked = await checkRequest(options.entitlements, request);
    if (!checked) return unauthorized(reply);
    const { feature } = request.params;
    if (!quotas.has(feature)) return unknownFeature(reply);
    return { feature, ...(await quotas.stateOf(checked.userId, feature, checked.decision)) };
  });
}
