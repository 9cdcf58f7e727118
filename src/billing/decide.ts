import type { SubscriptionRecord, SubscriptionSnapshot, SubscriptionStatus } from '../subscriptions/index.js';

/** Pure rules of the billing routes; the routes do the I/O around them. */

/** Statuses of a subscription the user still has (or can revive in the portal): a second Checkout would make two. */
const LIVE: ReadonlySet<string> = new Set<SubscriptionStatus>(['active', 'trialing', 'past_due', 'unpaid', 'paused', 'incomplete']);

export function hasLiveSubscription(statuses: readonly string[]): boolean {
  return statuses.some((status) => LIVE.has(status));
}

export type PriceChoice = { ok: true; priceId: string } | { ok: false; error: 'unknown_price' | 'billing_not_configured'; message: string };

/** The price a Checkout uses: the one asked for, which must be offered, else the default. */
export function choosePrice(requested: string | undefined, offered: readonly string[], defaultPriceId: string | undefined): PriceChoice {
  if (requested !== undefined) {
    return offered.includes(requested)
      ? { ok: true, priceId: requested }
      : { ok: false, error: 'unknown_price', message: `priceId must be one of: ${offered.join(', ') || '(none configured)'}` };
  }
  return defaultPriceId
    ? { ok: true, priceId: defaultPriceId }
    : { ok: false, error: 'billing_not_configured', message: 'no priceId given and no DEFAULT_PRICE_ID (or PRICE_IDS) configured' };
}

/**
 * The idempotency key of a Checkout Session: the same for every click of one user on one price
 * within a ten-minute window while the user's subscriptions stay as they are, so a double click
 * (or a retry after a lost answer) gets the same session instead of a second one. Once a
 * subscription changed (one was created, or cancelled), the user gets a new session: the old one
 * may be complete already, and a cancelled user must be able to subscribe again at once.
 */
export function checkoutIdempotencyKey(
  userId: string,
  customerId: string,
  priceId: string,
  now: number,
  subscriptionStatuses: readonly string[],
): string {
  const subscriptions = [...subscriptionStatuses].sort().join(',');
  return `checkout:${userId}:${customerId}:${priceId}:${Math.floor(now / 600_000)}:${subscriptions}`;
}

/** One Stripe customer per user: every attempt to create it uses the same key (Stripe keeps keys 24 h). */
export function customerIdempotencyKey(userId: string): string {
  return `customer:${userId}`;
}

/** The fields reconcile compares: everything sync stores from a subscription object. */
const RECONCILED_FIELDS = [
  'status',
  'customerId',
  'priceId',
  'productId',
  'currentPeriodStart',
  'currentPeriodEnd',
  'cancelAtPeriodEnd',
  'cancelAt',
  'canceledAt',
  'endedAt',
  'trialEnd',
] as const satisfies readonly (keyof SubscriptionSnapshot & keyof SubscriptionRecord)[];

type ReconciledField = (typeof RECONCILED_FIELDS)[number] | 'missing';

export interface Difference {
  field: ReconciledField;
  stored: unknown;
  stripe: unknown;
}

/** How the stored record differs from Stripe's subscription; `missing` when there is no record at all. */
export function reconcileDifferences(record: SubscriptionRecord | null, stripe: SubscriptionSnapshot): Difference[] {
  if (!record) return [{ field: 'missing', stored: null, stripe: stripe.id }];
  return RECONCILED_FIELDS.filter((field) => record[field] !== stripe[field]).map((field) => ({
    field,
    stored: record[field],
    stripe: stripe[field],
  }));
}
