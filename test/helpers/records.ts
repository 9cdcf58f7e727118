import type { SubscriptionRecord } from '../../src/subscriptions/decide.js';

/** A stored active subscription record, for the pure decisions' tables; `overrides` sets what a row is about. */
export function subscriptionRecord(overrides: Partial<SubscriptionRecord> = {}, at = 1_800_000_000): SubscriptionRecord {
  return {
    id: 'sub_1',
    customerId: 'cus_1',
    status: 'active',
    priceId: 'price_basic',
    productId: 'prod_1',
    currentPeriodStart: at,
    currentPeriodEnd: at + 30 * 86_400,
    cancelAtPeriodEnd: false,
    cancelAt: null,
    canceledAt: null,
    endedAt: null,
    trialEnd: null,
    pastDueSince: null,
    lastEventId: 'evt_1',
    lastEventType: 'customer.subscription.updated',
    lastEventCreated: at,
    syncedAt: null,
    ...overrides,
  };
}
