/**
 * What the extension answers from what it knows: a pure function of the last answer the service
 * gave (and when), whether asking again failed, the clock and the grace window. A paying user is
 * not locked out by an outage of the service; a cancelled one is not let in forever by it either.
 */

/**
 * `GET /v1/entitlements`, as docs/api.md defines it, but for its `token`, which the client keeps
 * apart (`CachedAnswer.token`): a new one comes with every answer, and pages need not hear of it.
 * Spelled out here rather than imported: this library is copied into other extensions and must
 * not depend on the service's sources.
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
  /** When the card-less trial ends (`reason: "free_trial"`); null otherwise. */
  trialEndsAt: string | null;
  /** Every quota of the service's `USAGE_LIMITS`, on the user's plan now; `{}` when it has none. */
  usage: Record<string, Usage>;
}

/** One feature's quota: `GET /v1/usage/:feature`, and each entry of an answer's `usage`. */
export interface Usage {
  used: number;
  /** null: unlimited on this plan. */
  limit: number | null;
  remaining: number | null;
  /** When the count starts again; null for `lifetime` and unlimited. */
  resetsAt: string | null;
  /** What the count is per ("3 of 5 left today"); null when unlimited. */
  per: 'day' | 'month' | 'billing_period' | 'lifetime' | null;
}

/** What a consumption answers: whether it was counted, and the quota after it (a refusal counts nothing). */
export interface Consumption extends Usage {
  allowed: boolean;
  feature: string;
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
  /** The answer's signed entitlement token (absent from a service that predates them). */
  token?: string;
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
    trialEndsAt: null,
    usage: cached?.answer.usage ?? {},
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

/** A token is renewed this long before it expires, or a tenth of its lifetime when that is shorter. */
export const TOKEN_REFRESH_MARGIN_MS = 60_000;

/**
 * Whether the kept token can go to the seller's backend: `good` until the refresh margin before
 * it expires; `renew` from then on (ask for a new one, and send this one only when the service
 * cannot be reached); `expired` once its lifetime is over, or when there is none.
 * The lifetime (exp − iat) is counted from when the answer arrived, on this machine's clock, so a
 * clock that is off here neither keeps sending an expired token nor asks again on every call.
 */
export function tokenState(cached: CachedAnswer | undefined, now: number): 'good' | 'renew' | 'expired' {
  const times = cached?.token ? tokenTimes(cached.token) : undefined;
  if (!cached || !times) return 'expired';
  const lifetimeMs = Math.max(0, times.exp - times.iat) * 1000;
  const age = now - cached.fetchedAt;
  if (age >= lifetimeMs) return 'expired';
  // A negative age: the clock moved back, so how old the token is is unknown; ask again, as isFresh does.
  if (age < 0 || age >= lifetimeMs - Math.min(TOKEN_REFRESH_MARGIN_MS, lifetimeMs / 10)) return 'renew';
  return 'good';
}

/**
 * `iat` and `exp` from the token's payload (base64url JSON). Not verified, and it need not be:
 * they only decide when to ask for a new token; the seller's backend verifies the signature.
 */
function tokenTimes(token: string): { iat: number; exp: number } | undefined {
  try {
    const base64 = (token.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/');
    const payload = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))));
    return Number.isFinite(payload.iat) && Number.isFinite(payload.exp) ? { iat: payload.iat, exp: payload.exp } : undefined;
  } catch {
    return undefined;
  }
}
