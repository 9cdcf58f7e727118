import { describe, expect, it } from 'vitest';
import { payCheckout, usePortal } from '../../tools/stripe-stand-in/user.js';
import { BACKENDS } from '../helpers/databases.js';
import { useService } from '../helpers/service.js';
import { eventsOf, onService, payThroughCheckout, TEST_STRIPE_KEY, useBillingService } from '../helpers/stripe.js';
import { billing, createUser, getEntitlement } from '../helpers/users.js';

/** Checkout, the redirect, the portal and Stripe's failures, against the stand-in through the real `stripe` client. */
describe.each(BACKENDS)('billing routes on $name', (backend) => {
  const context = useBillingService(backend, { config: { priceIds: ['price_basic', 'price_pro'], defaultPriceId: 'price_basic' } });

  /** Pays through Checkout, comes back to the success page; the webhooks are applied. */
  async function subscribe(token: string) {
    const paid = await payThroughCheckout(context, token);
    expect((await fetch(paid.successUrl)).status).toBe(200);
    return paid;
  }

  it('checkout: a customer with metadata.user_id and a subscription-mode session with the user and the configured URLs', async () => {
    const user = await createUser(context.svc.baseUrl);
    const answer = await billing(context.svc.baseUrl, user.token, 'checkout');
    expect(answer.status).toBe(200);
    expect(answer.body.url).toMatch(new RegExp(`^${context.standIn.url}/checkout/cs_test_`));
    const session = context.standIn.state.checkoutSessions.get(answer.body.url.split('/').at(-1))!;
    expect(session).toMatchObject({
      mode: 'subscription',
      client_reference_id: user.userId,
      success_url: 'http://127.0.0.1:1/billing/success?session_id={CHECKOUT_SESSION_ID}',
      cancel_url: 'http://127.0.0.1:1/billing/cancel',
      _subscriptionMetadata: { user_id: user.userId },
      _price: { id: 'price_basic' },
    });
    expect(context.standIn.state.customer(session.customer).metadata).toEqual({ user_id: user.userId });
  });

  it('a double click gets one customer and one session: the same idempotency keys', async () => {
    const user = await createUser(context.svc.baseUrl);
    const before = context.standIn.requests.length;
    const [first, second] = await Promise.all([
      billing(context.svc.baseUrl, user.token, 'checkout'),
      billing(context.svc.baseUrl, user.token, 'checkout'),
    ]);
    const again = await billing(context.svc.baseUrl, user.token, 'checkout', { priceId: 'price_basic' });
    expect([first.status, second.status, again.status]).toEqual([200, 200, 200]);
    expect(new Set([first.body.url, second.body.url, again.body.url]).size).toBe(1);
    const customers = [...context.standIn.state.customers.values()].filter((c) => c.metadata.user_id === user.userId);
    expect(customers).toHaveLength(1);
    const sessionRequests = context.standIn.requests.slice(before).filter((r) => r.path === '/v1/checkout/sessions');
    expect(sessionRequests.length).toBeGreaterThanOrEqual(2);
    expect(new Set(sessionRequests.map((r) => r.idempotencyKey)).size).toBe(1);
    expect(sessionRequests.some((r) => r.replayed)).toBe(true);
  });

  it('a retry after Stripe failed uses the same idempotency key and gets the one session', async () => {
    const user = await createUser(context.svc.baseUrl);
    await billing(context.svc.baseUrl, user.token, 'checkout');
    const before = context.standIn.requests.length;
    context.standIn.injectFailure({ kind: 500, times: 1, path: '/v1/checkout/sessions' });
    const failed = await billing(context.svc.baseUrl, user.token, 'checkout');
    const retried = await billing(context.svc.baseUrl, user.token, 'checkout');
    expect(failed.status).toBe(502);
    expect(retried.status).toBe(200);
    const keys = context.standIn.requests
      .slice(before)
      .filter((r) => r.path === '/v1/checkout/sessions')
      .map((r) => r.idempotencyKey);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
  });

  it('unknown price: 400; no token: 401', async () => {
    const user = await createUser(context.svc.baseUrl);
    expect(await billing(context.svc.baseUrl, user.token, 'checkout', { priceId: 'price_other' })).toMatchObject({
      status: 400,
      body: { error: 'unknown_price' },
    });
    expect((await billing(context.svc.baseUrl, undefined, 'checkout')).status).toBe(401);
    expect((await billing(context.svc.baseUrl, 'not-a-valid-token-at-all-here', 'portal')).status).toBe(401);
  });

  it('the redirect beats the webhook: premium at once, and the webhooks after it change nothing', async () => {
    const user = await createUser(context.svc.baseUrl);
    context.standIn.webhooks.enabled = false;
    try {
      const checkout = await billing(context.svc.baseUrl, user.token, 'checkout', { priceId: 'price_pro' });
      const success = await fetch(onService(context.svc, await payCheckout(checkout.body.url)));
      expect(success.status).toBe(200);
      expect(success.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await success.text()).toContain('You are subscribed');
    } finally {
      context.standIn.webhooks.enabled = true;
    }
    expect(await getEntitlement(context.svc.baseUrl, user.token)).toMatchObject({ premium: true, status: 'active', priceId: 'price_pro' });
    const [subscription] = [...context.standIn.state.subscriptions.values()].filter((s) => s.metadata.user_id === user.userId);
    const stored = () =>
      context.svc.store.db.selectFrom('subscriptions').selectAll().where('id', '=', subscription!.id).executeTakeFirstOrThrow();
    const { updated_at: _u, synced_at: _s, last_event_id: _i, last_event_type: _t, last_event_created: _c, ...before } = await stored();
    for (const event of eventsOf(context.standIn, subscription!.id)) expect(await context.standIn.webhooks.deliver(event)).toBe(200);
    await context.svc.settle();
    expect(await stored()).toMatchObject(before);
    expect(await getEntitlement(context.svc.baseUrl, user.token)).toMatchObject({ premium: true, status: 'active', priceId: 'price_pro' });
  });

  it('a user with a live subscription gets 409 with a portal hint, never a second one', async () => {
    const user = await createUser(context.svc.baseUrl);
    await subscribe(user.token);
    const sessions = context.standIn.state.checkoutSessions.size;
    const second = await billing(context.svc.baseUrl, user.token, 'checkout', { priceId: 'price_pro' });
    expect(second).toMatchObject({ status: 409, body: { error: 'subscription_exists', portal: '/v1/billing/portal' } });
    expect(context.standIn.state.checkoutSessions.size).toBe(sessions);
  });

  it('409 also when only Stripe knows the subscription yet (its webhooks lost)', async () => {
    const user = await createUser(context.svc.baseUrl);
    await payThroughCheckout(context, user.token, { webhooks: false }); // and the browser never comes back
    expect((await billing(context.svc.baseUrl, user.token, 'checkout')).status).toBe(409);
  });

  it('portal: 404 without a customer; then plan switch, cancel at period end and cancel now reach the entitlement', async () => {
    const user = await createUser(context.svc.baseUrl);
    expect(await billing(context.svc.baseUrl, user.token, 'portal')).toMatchObject({ status: 404, body: { error: 'no_customer' } });
    const { subscriptionId } = await subscribe(user.token);
    const portal = await billing(context.svc.baseUrl, user.token, 'portal');
    expect(portal.status).toBe(200);
    expect(context.standIn.state.portalSession(portal.body.url.split('/').at(-1)).return_url).toBe('http://127.0.0.1:1/billing/done');
    const step = async (action: Parameters<typeof usePortal>[2]) => {
      await usePortal(portal.body.url, subscriptionId, action);
      await context.standIn.webhooks.flush();
      await context.svc.settle();
      return getEntitlement(context.svc.baseUrl, user.token);
    };
    expect(await step({ switchTo: 'price_pro' })).toMatchObject({ premium: true, priceId: 'price_pro', productId: 'prod_pro' });
    expect(await step('cancel-at-period-end')).toMatchObject({ premium: true, cancelAtPeriodEnd: true });
    expect(await step('cancel-now')).toMatchObject({ premium: false, reason: 'canceled' });
    // Canceled: a new Checkout is allowed again.
    expect((await billing(context.svc.baseUrl, user.token, 'checkout')).status).toBe(200);
  });

  it.each([500, 429, 'timeout'] as const)("Stripe failing (%s) answers 502, logs Stripe's request id, shows no stack", async (kind) => {
    const user = await createUser(context.svc.baseUrl);
    context.standIn.injectFailure({ kind, times: 1, path: '/v1/customers' });
    const answer = await billing(context.svc.baseUrl, user.token, 'checkout');
    expect(answer).toEqual({ status: 502, body: { error: 'stripe_error', message: expect.any(String) } });
    expect(JSON.stringify(answer.body)).not.toMatch(/at \w+ \(|node_modules/);
    const logged = context.svc.logs.filter((l) => l.msg === 'Stripe request failed').at(-1) as any;
    if (kind === 'timeout') expect(logged.stripe.type).toBe('StripeConnectionError');
    else expect(logged.stripe.requestId).toMatch(/^req_/);
    expect(JSON.stringify(context.svc.logs)).not.toContain(TEST_STRIPE_KEY);
  });

  it('the success page: nothing from the request is echoed; bad and unknown sessions are answered plainly', async () => {
    const hostile = '<script>alert(1)</script>';
    const bad = await fetch(`${context.svc.baseUrl}/billing/success?session_id=${encodeURIComponent(hostile)}`);
    expect(bad.status).toBe(400);
    expect(await bad.text()).not.toContain('<script>');
    const unknown = await fetch(`${context.svc.baseUrl}/billing/success?session_id=cs_test_doesnotexist`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).not.toContain('cs_test_doesnotexist');
    expect(unknown.headers.get('content-security-policy')).toContain("default-src 'none'");
    const cancel = await fetch(`${context.svc.baseUrl}/billing/cancel`);
    expect([cancel.status, await cancel.text()]).toEqual([200, expect.stringContaining('Nothing was charged')]);
  });
});

describe('billing without STRIPE_SECRET_KEY', () => {
  const context = useService(BACKENDS[0]);
  it('answers 503 billing_not_configured', async () => {
    const user = await createUser(context.svc.baseUrl);
    for (const route of ['checkout', 'portal'] as const) {
      expect(await billing(context.svc.baseUrl, user.token, route)).toMatchObject({
        status: 503,
        body: { error: 'billing_not_configured' },
      });
    }
    expect((await fetch(`${context.svc.baseUrl}/billing/success?session_id=cs_test_1`)).status).toBe(503);
  });
});
