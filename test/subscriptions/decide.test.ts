import { describe, expect, it } from 'vitest';
import { decidePaymentFact, decideSubscriptionEvent, type SubscriptionRecord } from '../../src/subscriptions/decide.js';
import type { SubscriptionSnapshot, SubscriptionStatus } from '../../src/subscriptions/stripe-objects.js';

const T = 1_800_000_000;

function snapshot(status: SubscriptionStatus, overrides: Partial<SubscriptionSnapshot> = {}): SubscriptionSnapshot {
  return {
    id: 'sub_1',
    customerId: 'cus_1',
    status,
    priceId: 'price_basic',
    productId: 'prod_1',
    currentPeriodStart: T,
    currentPeriodEnd: T + 30 * 86_400,
    cancelAtPeriodEnd: false,
    cancelAt: null,
    canceledAt: null,
    endedAt: null,
    trialEnd: null,
    userId: null,
    ...overrides,
  };
}

function applied(status: SubscriptionStatus, created: number, type = 'customer.subscription.updated', extra: Partial<SubscriptionRecord> = {}): SubscriptionRecord {
  const decision = decideSubscriptionEvent(null, snapshot(status), { id: `evt_${created}`, type, created });
  if (!decision.apply) throw new Error('first event must apply');
  return { ...decision.next, ...extra };
}

const updated = 'customer.subscription.updated';
const created = 'customer.subscription.created';
const deleted = 'customer.subscription.deleted';

describe('decideSubscriptionEvent: ordering rules', () => {
  it.each([
    { name: 'first event creates the record', current: null, event: [updated, 'active', T], apply: true },
    { name: 'a deleted event with no record creates a canceled record', current: null, event: [deleted, 'canceled', T], apply: true },
    { name: 'a newer event overwrites', current: ['active', T], event: [updated, 'past_due', T + 1], apply: true },
    { name: 'an older event does not overwrite', current: ['active', T], event: [updated, 'incomplete', T - 1], apply: false },
    { name: 'a late created (incomplete) never overwrites an existing record', current: ['active', T], event: [created, 'incomplete', T], apply: false },
    { name: 'a created never overwrites, even if stamped later', current: ['active', T], event: [created, 'incomplete', T + 5], apply: false },
    { name: 'same second: later arrival wins', current: ['active', T], event: [updated, 'past_due', T], apply: true },
    { name: 'same second: canceled is not revived', current: ['canceled', T], event: [updated, 'active', T], apply: false },
    { name: 'same second: incomplete_expired is not revived', current: ['incomplete_expired', T], event: [updated, 'incomplete', T], apply: false },
    { name: 'earlier second: canceled is not revived', current: ['canceled', T], event: [updated, 'active', T - 1], apply: false },
    { name: 'same second: canceled may be restated as canceled', current: ['canceled', T], event: [deleted, 'canceled', T], apply: true },
    { name: 'same second: active may become canceled', current: ['active', T], event: [deleted, 'canceled', T], apply: true },
    { name: 'a later second applies after canceled', current: ['canceled', T], event: [updated, 'canceled', T + 1], apply: true },
  ] as const)('$name', ({ current, event, apply }) => {
    const record = current ? applied(current[0], current[1]) : null;
    const decision = decideSubscriptionEvent(record, snapshot(event[1]), { id: 'evt_new', type: event[0], created: event[2] });
    expect(decision.apply).toBe(apply);
    if (decision.apply) {
      expect(decision.next.status).toBe(event[1]);
      expect(decision.next.lastEventId).toBe('evt_new');
      expect(decision.next.lastEventCreated).toBe(event[2]);
    } else {
      expect(decision.reason).toMatch(/\w/);
    }
  });

  it('past_due grace starts at the first past_due event and holds while past_due', () => {
    const first = decideSubscriptionEvent(applied('active', T), snapshot('past_due'), { id: 'e2', type: updated, created: T + 10 });
    expect(first.apply && first.next.pastDueSince).toBe(T + 10);
    if (!first.apply) return;
    const second = decideSubscriptionEvent(first.next, snapshot('past_due', { priceId: 'price_pro' }), { id: 'e3', type: updated, created: T + 500 });
    expect(second.apply && second.next.pastDueSince).toBe(T + 10);
    if (!second.apply) return;
    const recovered = decideSubscriptionEvent(second.next, snapshot('active'), { id: 'e4', type: updated, created: T + 900 });
    expect(recovered.apply && recovered.next.pastDueSince).toBe(null);
    if (!recovered.apply) return;
    const again = decideSubscriptionEvent(recovered.next, snapshot('past_due'), { id: 'e5', type: updated, created: T + 2000 });
    expect(again.apply && again.next.pastDueSince).toBe(T + 2000);
  });

  it('keeps payment facts across status changes', () => {
    const record = applied('active', T, updated, { lastPaymentFailedAt: T - 5, lastInvoiceId: 'in_1' });
    const decision = decideSubscriptionEvent(record, snapshot('past_due'), { id: 'e', type: updated, created: T + 1 });
    expect(decision.apply && decision.next.lastPaymentFailedAt).toBe(T - 5);
    expect(decision.apply && decision.next.lastInvoiceId).toBe('in_1');
  });
});

describe('decidePaymentFact: invoices record payments, never status', () => {
  it.each([
    { name: 'no record yet', current: null, outcome: 'failed', created: T, apply: false },
    { name: 'records a failure', current: {}, outcome: 'failed', created: T, apply: true },
    { name: 'records a success', current: {}, outcome: 'succeeded', created: T, apply: true },
    { name: 'an older failure does not replace a newer one', current: { lastPaymentFailedAt: T + 10 }, outcome: 'failed', created: T, apply: false },
    { name: 'a newer success replaces an older one', current: { lastPaymentSucceededAt: T - 10 }, outcome: 'succeeded', created: T, apply: true },
  ] as const)('$name', ({ current, outcome, created, apply }) => {
    const record = current ? applied('past_due', T - 100, updated, current) : null;
    const decision = decidePaymentFact(record, 'in_new', outcome, { id: 'evt_inv', type: 'invoice.paid', created });
    expect(decision.apply).toBe(apply);
    if (decision.apply) {
      expect(decision.next.status).toBe('past_due');
      expect(outcome === 'failed' ? decision.next.lastPaymentFailedAt : decision.next.lastPaymentSucceededAt).toBe(created);
      expect(decision.next.lastInvoiceId).toBe('in_new');
      expect(decision.next.lastEventId).toBe(record!.lastEventId);
    }
  });
});
