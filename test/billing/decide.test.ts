import { describe, expect, it } from 'vitest';
import { checkoutIdempotencyKey, choosePrice, hasLiveSubscription, reconcileDifferences } from '../../src/billing/decide.js';
import { escapeHtml, renderPage } from '../../src/billing/pages.js';
import { stripeTimeOf } from '../../src/billing/stripe-client.js';
import type { SubscriptionRecord } from '../../src/subscriptions/decide.js';
import type { SubscriptionSnapshot } from '../../src/subscriptions/stripe-objects.js';

describe('hasLiveSubscription: whether a second Checkout would make a second subscription', () => {
  it.each<[string[], boolean]>([
    [[], false],
    [['canceled', 'incomplete_expired'], false],
    [['active'], true],
    [['canceled', 'trialing'], true],
    [['past_due'], true],
    [['unpaid'], true],
    [['paused'], true],
    [['incomplete'], true],
  ])('%o -> %s', (statuses, live) => {
    expect(hasLiveSubscription(statuses)).toBe(live);
  });
});

describe('choosePrice', () => {
  const offered = ['price_basic', 'price_pro'];
  it.each([
    { requested: undefined, defaultPrice: 'price_basic', expected: { ok: true, priceId: 'price_basic' } },
    { requested: 'price_pro', defaultPrice: 'price_basic', expected: { ok: true, priceId: 'price_pro' } },
    { requested: 'price_free', defaultPrice: 'price_basic', expected: { ok: false, error: 'unknown_price' } },
    { requested: undefined, defaultPrice: undefined, expected: { ok: false, error: 'billing_not_configured' } },
  ])('$requested (default $defaultPrice)', ({ requested, defaultPrice, expected }) => {
    expect(choosePrice(requested, offered, defaultPrice)).toMatchObject(expected);
  });
});

describe('checkoutIdempotencyKey', () => {
  const minute = 60_000;
  const start = 1_800_000_000_000 - (1_800_000_000_000 % (10 * minute));
  it('is the same within a ten-minute window, and differs by user, customer, price, window and subscriptions', () => {
    const key = checkoutIdempotencyKey('usr_1', 'cus_1', 'price_a', start, ['canceled']);
    expect(checkoutIdempotencyKey('usr_1', 'cus_1', 'price_a', start + 9 * minute, ['canceled'])).toBe(key);
    expect(checkoutIdempotencyKey('usr_1', 'cus_1', 'price_a', start, ['incomplete_expired', 'canceled'])).toBe(
      checkoutIdempotencyKey('usr_1', 'cus_1', 'price_a', start, ['canceled', 'incomplete_expired']),
    );
    for (const other of [
      checkoutIdempotencyKey('usr_2', 'cus_1', 'price_a', start, ['canceled']),
      checkoutIdempotencyKey('usr_1', 'cus_2', 'price_a', start, ['canceled']),
      checkoutIdempotencyKey('usr_1', 'cus_1', 'price_b', start, ['canceled']),
      checkoutIdempotencyKey('usr_1', 'cus_1', 'price_a', start + 10 * minute, ['canceled']),
      // Subscribed, then cancelled within the window: a new session, not the completed one.
      checkoutIdempotencyKey('usr_1', 'cus_1', 'price_a', start, ['canceled', 'canceled']),
      checkoutIdempotencyKey('usr_1', 'cus_1', 'price_a', start, []),
    ]) {
      expect(other).not.toBe(key);
    }
  });
});

describe('reconcileDifferences', () => {
  const snapshot: SubscriptionSnapshot = {
    id: 'sub_1',
    customerId: 'cus_1',
    status: 'active',
    priceId: 'price_a',
    productId: 'prod_a',
    currentPeriodStart: 100,
    currentPeriodEnd: 200,
    cancelAtPeriodEnd: false,
    cancelAt: null,
    canceledAt: null,
    endedAt: null,
    trialEnd: null,
    userId: 'usr_1',
  };
  const { userId: _user, ...fields } = snapshot;
  const record: SubscriptionRecord = {
    ...fields,
    pastDueSince: null,
    lastEventId: 'evt_1',
    lastEventType: 'x',
    lastEventCreated: 1,
    syncedAt: null,
  };

  it.each<[string, Partial<SubscriptionRecord> | null, string[]]>([
    ['the same', {}, []],
    ['no record', null, ['missing']],
    ['status', { status: 'canceled' }, ['status']],
    ['plan and period', { priceId: 'price_b', currentPeriodEnd: 150 }, ['priceId', 'currentPeriodEnd']],
    ['cancellation', { cancelAtPeriodEnd: true, cancelAt: 200 }, ['cancelAtPeriodEnd', 'cancelAt']],
    ['bookkeeping only', { lastEventId: 'evt_2', syncedAt: 5, pastDueSince: 3 }, []],
  ])('%s', (_name, change, fieldsDiffering) => {
    const differences = reconcileDifferences(change ? { ...record, ...change } : null, snapshot);
    expect(differences.map((d) => d.field)).toEqual(fieldsDiffering);
  });
});

describe('billing pages', () => {
  it('escape what they write', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
  });

  it.each([
    ['subscribed', 200],
    ['invalid_link', 400],
    ['unknown_session', 404],
    ['unconfirmed', 502],
    ['not_configured', 503],
  ] as const)('%s answers %i with a complete page', (name, status) => {
    const page = renderPage(name);
    expect(page.status).toBe(status);
    expect(page.html).toMatch(/^<!doctype html>[\s\S]*<h1 id="title">[^<]+<\/h1>[\s\S]*<\/html>\n$/);
  });
});

describe("stripeTimeOf: Stripe's clock from its answer", () => {
  it.each([
    ['the Date header', { lastResponse: { headers: { date: 'Fri, 27 Nov 2026 08:00:05 GMT' } } }, Date.UTC(2026, 10, 27, 8, 0, 5) / 1000],
    ['no header: our clock', { lastResponse: { headers: {} } }, 1_800_000_000],
    ['a malformed header: our clock', { lastResponse: { headers: { date: 'soon' } } }, 1_800_000_000],
  ])('%s', (_name, response, expected) => {
    expect(stripeTimeOf(response, 1_800_000_000_999)).toBe(expected);
  });
});
