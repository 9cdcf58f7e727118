import type { PlanLimit, UsageLimits, UsagePeriod } from '../config/index.js';
import type { GrantingPlan } from '../entitlements/index.js';

/** The pure rules of usage quotas: which plan's limit applies, the window it counts in, and whether a consumption fits. */

/** The limit that applies to a user for one feature, and the plan key it came from. */
export interface AppliedLimit extends PlanLimit {
  plan: string;
}

/** No `free` entry: the feature cannot be used on the free plan. */
const NO_FREE_USE: PlanLimit = { limit: 0, per: null };

/**
 * The price of the granting subscription, then its product, then `free`; a user who is not
 * premium (plan null) is always on `free`.
 */
export function limitFor(plans: UsageLimits[string], plan: GrantingPlan | null): AppliedLimit {
  for (const key of [plan?.priceId, plan?.productId]) {
    if (key && plans[key]) return { plan: key, ...plans[key] };
  }
  return { plan: 'free', ...(plans.free ?? NO_FREE_USE) };
}

/** Milliseconds: the window's start, and its end (when it resets); end null: it never resets. */
export interface UsageWindow {
  start: number;
  end: number | null;
  /** The period it really counts by: `billing_period` without a known period counts by `month`. */
  per: UsagePeriod | null;
}

const DAY_MS = 86_400_000;

/**
 * The window `now` falls in, in UTC. A billing period runs from the granting subscription's
 * current period start; once its end has passed without a renewal reaching us yet, it rolls on
 * by whole periods. Without a known period (the free plan) it is the calendar month.
 */
export function windowOf(per: UsagePeriod | null, plan: GrantingPlan | null, nowMs: number): UsageWindow {
  const now = new Date(nowMs);
  switch (per) {
    case 'day': {
      const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
      return { start, end: start + DAY_MS, per };
    }
    case 'billing_period':
      if (plan?.periodStart != null)
        return billingPeriod(plan.periodStart * 1000, plan.periodEnd === null ? null : plan.periodEnd * 1000, nowMs);
      return windowOf('month', plan, nowMs);
    case 'month':
      return {
        start: Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1),
        end: Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1),
        per,
      };
    default:
      // lifetime, and the unlimited or never-usable plans without a period.
      return { start: 0, end: null, per };
  }
}

function billingPeriod(start: number, end: number | null, nowMs: number): UsageWindow {
  if (end === null || end <= start || nowMs < end) return { start, end, per: 'billing_period' };
  const length = end - start;
  const periods = Math.floor((nowMs - start) / length);
  return { start: start + periods * length, end: end + periods * length, per: 'billing_period' };
}

/** What a feature's quota says now, as every answer reports it. */
export interface UsageState {
  used: number;
  limit: number | null;
  remaining: number | null;
  resetsAt: string | null;
  /** What the count is per (`day`, `month`, `billing_period`, `lifetime`); null on an unlimited plan. */
  per: UsagePeriod | null;
}

export function stateOf(used: number, applied: AppliedLimit, window: UsageWindow): UsageState {
  return {
    used,
    limit: applied.limit,
    remaining: applied.limit === null ? null : Math.max(0, applied.limit - used),
    resetsAt: applied.limit === null || window.end === null ? null : new Date(window.end).toISOString(),
    per: applied.limit === null ? null : window.per,
  };
}

/** A consumption fits whole or not at all; an unlimited plan takes anything. */
export function decideConsume(used: number, amount: number, applied: AppliedLimit): { allowed: boolean; usedAfter: number } {
  const allowed = applied.limit === null || used + amount <= applied.limit;
  return { allowed, usedAfter: allowed ? used + amount : used };
}
