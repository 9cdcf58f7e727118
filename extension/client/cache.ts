/**
 * What the extension answers from what it knows: a pure function of the last answer the service
 * gave (and when), whether asking again failed, the clock and the grace window. A paying user is
 * not locked out by an outage of the service; a cancelled one is not let in forever by it either.
 */

/**
 * `GET /v1/entitlements`, as docs/api.md defines it. Spelled out here rather than imported: this
 * library is copied into other extensions and must not depend on the service's sources.
 */
export interface EntitlementAnswer {
  userId: string;
  premium: boolean;
  reason: string;
  status: string | null;
  priceId: string | null;
  productId: string | null;
  features: string[];
  currentPeriodEnd: string | null;
  cancelAtPeriodEnd: boolean;
  graceUntil: string | null;
}

/** What the client hands to the extension: the service's answer, and whether it is a remembered one. */
export interface Entitlement extends EntitlementAnswer {
  /** True when the service could not be asked and this is the last known answer (or the lock-out after the grace window). */
  stale: boolean;
  /** When the service gave this answer (ms since the epoch); null when it never did. */
  checkedAt: number | null;
}

export interface CachedAnswer {
  answer: EntitlementAnswer;
  fetchedAt: number;
}

export const DEFAULT_GRACE_MS = 24 * 3600 * 1000;

export function isFresh(cached: CachedAnswer | undefined, now: number, maxAgeMs: number): cached is CachedAnswer {
  return cached !== undefined && now - cached.fetchedAt >= 0 && now - cached.fetchedAt < maxAgeMs;
}

/** The answer when the service is unreachable or answers 5xx. */
export function answerWhenUnreachable(cached: CachedAnswer | undefined, now: number, graceMs: number, userId: string): Entitlement {
  if (cached && now - cached.fetchedAt < graceMs) return { ...cached.answer, stale: true, checkedAt: cached.fetchedAt };
  return {
    userId: cached?.answer.userId ?? userId,
    premium: false,
    reason: 'service_unreachable',
    status: cached?.answer.status ?? null,
    priceId: cached?.answer.priceId ?? null,
    productId: cached?.answer.productId ?? null,
    features: [],
    currentPeriodEnd: cached?.answer.currentPeriodEnd ?? null,
    cancelAtPeriodEnd: cached?.answer.cancelAtPeriodEnd ?? false,
    graceUntil: null,
    stale: true,
    checkedAt: cached?.fetchedAt ?? null,
  };
}

/** Whether listeners must hear about a new answer: anything they show may have changed. */
export function hasChanged(before: Entitlement | undefined, after: Entitlement): boolean {
  if (!before) return true;
  const { checkedAt: _a, ...b } = before;
  const { checkedAt: _b, ...a } = after;
  return JSON.stringify(b) !== JSON.stringify(a);
}
