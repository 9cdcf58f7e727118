import { describe, expect, it } from 'vitest';
import { diffRecords, type PaymentFacts, type SubscriptionRecord } from '../../src/subscriptions/decide.js';
import { subscriptionRecord } from '../helpers/records.js';

const T = 1_800_000_000;

const record = (overrides: Partial<SubscriptionRecord> = {}) => subscriptionRecord(overrides, T);

function facts(overrides: Partial<PaymentFacts> = {}): PaymentFacts {
  return { subscriptionId: 'sub_1', lastPaymentSucceededAt: null, lastPaymentFailedAt: null, lastInvoiceId: null, ...overrides };
}

const bookkeeping = {
  lastEventId: 'evt_2',
  lastEventType: 'customer.subscription.deleted',
  lastEventCreated: T + 60,
  syncedAt: (T + 61) * 1000,
};

describe('diffRecords', () => {
  it.each<{ name: string; before: SubscriptionRecord | null; after: SubscriptionRecord; changes: Record<string, [unknown, unknown]> }>([
    {
      name: 'no record before: every field with a value, from null (null fields are no change; bookkeeping is left out)',
      before: null,
      after: record({ syncedAt: T * 1000 }),
      changes: {
        id: [null, 'sub_1'],
        customerId: [null, 'cus_1'],
        status: [null, 'active'],
        priceId: [null, 'price_basic'],
        productId: [null, 'prod_1'],
        currentPeriodStart: [null, T],
        currentPeriodEnd: [null, T + 30 * 86_400],
        cancelAtPeriodEnd: [null, false],
      },
    },
    { name: 'equal records (distinct objects): no changes', before: record(), after: record(), changes: {} },
    {
      name: 'changed fields as [before, after]',
      before: record(),
      after: record({ status: 'past_due', pastDueSince: T + 5, priceId: 'price_pro' }),
      changes: { status: ['active', 'past_due'], pastDueSince: [null, T + 5], priceId: ['price_basic', 'price_pro'] },
    },
    {
      name: 'a field that becomes null, and a boolean that flips',
      before: record({ canceledAt: T, cancelAtPeriodEnd: true }),
      after: record({ cancelAtPeriodEnd: false }),
      changes: { canceledAt: [T, null], cancelAtPeriodEnd: [true, false] },
    },
    { name: 'only bookkeeping (lastEvent*, syncedAt) changed: no changes', before: record(), after: record(bookkeeping), changes: {} },
    {
      name: 'bookkeeping is left out beside a real change',
      before: record({ syncedAt: T * 1000 }),
      after: record({ ...bookkeeping, status: 'canceled', endedAt: T + 60 }),
      changes: { status: ['active', 'canceled'], endedAt: [null, T + 60] },
    },
  ])('subscription records: $name', ({ before, after, changes }) => {
    expect(diffRecords(before, after)).toEqual(changes);
  });

  it('the changes never name a bookkeeping field, whatever changed', () => {
    const keys = Object.keys(diffRecords(record(), record({ ...bookkeeping, status: 'unpaid', pastDueSince: T })));
    expect(keys.sort()).toEqual(['pastDueSince', 'status']);
  });

  it.each<{ name: string; before: PaymentFacts | null; after: PaymentFacts; changes: Record<string, [unknown, unknown]> }>([
    {
      name: 'first facts',
      before: null,
      after: facts({ lastPaymentSucceededAt: T, lastInvoiceId: 'in_1' }),
      changes: { subscriptionId: [null, 'sub_1'], lastPaymentSucceededAt: [null, T], lastInvoiceId: [null, 'in_1'] },
    },
    {
      name: 'a failure after a success',
      before: facts({ lastPaymentSucceededAt: T, lastInvoiceId: 'in_1' }),
      after: facts({ lastPaymentSucceededAt: T, lastPaymentFailedAt: T + 30, lastInvoiceId: 'in_2' }),
      changes: { lastPaymentFailedAt: [null, T + 30], lastInvoiceId: ['in_1', 'in_2'] },
    },
    { name: 'the same facts', before: facts({ lastPaymentFailedAt: T }), after: facts({ lastPaymentFailedAt: T }), changes: {} },
  ])('payment facts: $name', ({ before, after, changes }) => {
    expect(diffRecords(before, after)).toEqual(changes);
  });
});
