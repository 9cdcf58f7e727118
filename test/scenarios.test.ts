import { describe, expect, it } from 'vitest';
import { storedEvent } from '../src/ops/views.js';
import {
  checkoutCompletedEvent,
  customerEvent,
  deliver,
  deliverAll,
  entitlementSummaryEvent,
  invoiceEvent,
  newId,
  nowSeconds,
  SHAPES,
  type Shape,
  type StripeEventBody,
  type SubscriptionSpec,
  subscriptionEvent,
} from './helpers/events.js';
import { SYNC_SETUPS, useSyncModeService } from './helpers/stripe.js';
import { createUser, getEntitlement, premiumPing } from './helpers/users.js';

/**
 * The story's scenarios over real HTTP, with events signed by the `stripe` package, on each
 * backend and in both sync modes (in refetch mode the stand-in holds each subscription's newest state).
 */
describe.each(SYNC_SETUPS)('subscription scenarios on $name, $syncMode sync', ({ backend, syncMode }) => {
  const context = useSyncModeService(backend, syncMode, { config: { priceFeatures: { price_pro: ['export', 'sync'] } } });

  /** Delivers events all at once, once Stripe holds their state. */
  async function deliverAtOnce(events: StripeEventBody[]) {
    context.publish(events);
    return Promise.all(events.map((e) => deliver(context.svc.baseUrl, e)));
  }

  /** Delivers events one after another, once Stripe holds their state, and waits until they are applied. */
  async function send(...events: StripeEventBody[]) {
    context.publish(events);
    await deliverAll(context.svc.baseUrl, events);
    await context.svc.settle();
  }

  async function entitlement(token: string) {
    return getEntitlement(context.svc.baseUrl, token);
  }

  /** A user who completed Checkout: linked customer, active subscription. */
  async function subscribedUser(shape: Shape = 'current', extra: Partial<SubscriptionSpec> = {}) {
    const user = await createUser(context.svc.baseUrl);
    const t = nowSeconds() - 600;
    const spec: SubscriptionSpec = {
      id: newId('sub'),
      customer: newId('cus'),
      status: 'incomplete',
      shape,
      periodStart: t - 86_400,
      ...extra,
    };
    await send(
      checkoutCompletedEvent({ customer: spec.customer, userId: user.userId, subscription: spec.id, created: t }),
      subscriptionEvent('created', spec, t),
    );
    await send(
      subscriptionEvent('updated', { ...spec, status: 'active' }, t + 1),
      invoiceEvent('paid', { subscription: spec.id, customer: spec.customer, created: t + 1, shape }),
    );
    return { user, spec: { ...spec, status: 'active' }, t: t + 1 };
  }

  it('a new user is not premium', async () => {
    const user = await createUser(context.svc.baseUrl);
    const answer = await entitlement(user.token);
    // The binding contract: exactly these fields.
    expect(Object.keys(answer).sort()).toEqual(
      [
        'userId',
        'premium',
        'reason',
        'status',
        'priceId',
        'productId',
        'features',
        'currentPeriodEnd',
        'cancelAtPeriodEnd',
        'graceUntil',
        'trialEndsAt',
        'usage',
        'token',
      ].sort(),
    );
    expect(answer).toMatchObject({
      userId: user.userId,
      premium: false,
      reason: 'no_subscription',
      status: null,
      features: [],
      graceUntil: null,
      trialEndsAt: null,
      usage: {},
    });
    expect(await premiumPing(context.svc.baseUrl, user.token)).toBe(402);
  });

  it.each(SHAPES)('subscribing through Checkout makes the user premium (%s shape)', async (shape) => {
    const periodEnd = nowSeconds() + 30 * 86_400;
    const { user, spec } = await subscribedUser(shape, { periodEnd });
    const answer = await entitlement(user.token);
    expect(answer).toMatchObject({
      userId: user.userId,
      premium: true,
      reason: 'active',
      status: 'active',
      priceId: 'price_basic',
      productId: 'prod_extension',
      cancelAtPeriodEnd: false,
      graceUntil: null,
      currentPeriodEnd: new Date(periodEnd * 1000).toISOString(),
    });
    expect(await premiumPing(context.svc.baseUrl, user.token)).toBe(200);
    const payments = await context.svc.store.db
      .selectFrom('subscription_payments')
      .selectAll()
      .where('subscription_id', '=', spec.id)
      .executeTakeFirstOrThrow();
    expect(payments.last_payment_succeeded_at).not.toBeNull();
  });

  it('a subscription started in the Customer Portal links through the customer metadata', async () => {
    const user = await createUser(context.svc.baseUrl);
    const t = nowSeconds() - 60;
    const customer = newId('cus');
    await send(
      customerEvent('created', { id: customer, userId: user.userId, created: t }),
      subscriptionEvent('created', { id: newId('sub'), customer, status: 'trialing' }, t + 1),
    );
    expect(await entitlement(user.token)).toMatchObject({ premium: true, reason: 'trialing', status: 'trialing' });
  });

  it('subscription events before the link count as soon as the link arrives', async () => {
    const user = await createUser(context.svc.baseUrl);
    const t = nowSeconds() - 60;
    const spec = { id: newId('sub'), customer: newId('cus'), status: 'active' };
    await send(subscriptionEvent('updated', spec, t + 1), subscriptionEvent('created', { ...spec, status: 'incomplete' }, t));
    expect((await entitlement(user.token)).premium).toBe(false);
    await send(checkoutCompletedEvent({ customer: spec.customer, userId: user.userId, subscription: spec.id, created: t }));
    expect(await entitlement(user.token)).toMatchObject({ premium: true, reason: 'active' });
  });

  it('an upgrade changes the plan and the features', async () => {
    const { user, spec, t } = await subscribedUser();
    await send(subscriptionEvent('updated', { ...spec, priceId: 'price_pro', productId: 'prod_pro' }, t + 10));
    expect(await entitlement(user.token)).toMatchObject({
      premium: true,
      priceId: 'price_pro',
      productId: 'prod_pro',
      features: ['export', 'sync'],
    });
    // A downgrade back.
    await send(subscriptionEvent('updated', { ...spec, priceId: 'price_basic' }, t + 20));
    expect(await entitlement(user.token)).toMatchObject({ premium: true, priceId: 'price_basic', features: [] });
  });

  it('Stripe entitlement summaries become features', async () => {
    const { user, spec, t } = await subscribedUser();
    await send(entitlementSummaryEvent({ customer: spec.customer, features: ['journeys', 'export'], created: t + 5 }));
    expect((await entitlement(user.token)).features).toEqual(['export', 'journeys']);
    // An older summary arriving late does not overwrite the newer one.
    await send(entitlementSummaryEvent({ customer: spec.customer, features: [], created: t + 1 }));
    expect((await entitlement(user.token)).features).toEqual(['export', 'journeys']);
  });

  it('cancellation at period end keeps access until Stripe ends the subscription', async () => {
    const { user, spec, t } = await subscribedUser();
    await send(subscriptionEvent('updated', { ...spec, cancelAtPeriodEnd: true }, t + 10));
    expect(await entitlement(user.token)).toMatchObject({ premium: true, reason: 'active', cancelAtPeriodEnd: true });
    expect(await premiumPing(context.svc.baseUrl, user.token)).toBe(200);
    await send(subscriptionEvent('deleted', { ...spec, status: 'canceled', cancelAtPeriodEnd: true }, t + 20));
    expect(await entitlement(user.token)).toMatchObject({ premium: false, reason: 'canceled', status: 'canceled' });
    expect(await premiumPing(context.svc.baseUrl, user.token)).toBe(402);
  });

  it('an immediate cancellation ends access on the next check', async () => {
    const { user, spec, t } = await subscribedUser('legacy');
    await send(subscriptionEvent('deleted', { ...spec, status: 'canceled' }, t + 10));
    expect(await entitlement(user.token)).toMatchObject({ premium: false, reason: 'canceled', status: 'canceled' });
    expect(await premiumPing(context.svc.baseUrl, user.token)).toBe(402);
  });

  it('a payment failure keeps access during the grace period, and recovery restores active', async () => {
    const { user, spec, t } = await subscribedUser();
    await send(
      invoiceEvent('payment_failed', { subscription: spec.id, customer: spec.customer, created: t + 10 }),
      subscriptionEvent('updated', { ...spec, status: 'past_due' }, t + 10),
    );
    const pastDue = await entitlement(user.token);
    expect(pastDue).toMatchObject({ premium: true, reason: 'past_due_in_grace', status: 'past_due' });
    expect(pastDue.graceUntil).toBe(new Date((t + 10 + 72 * 3600) * 1000).toISOString());
    // Stripe's retries keep it past_due: the grace still counts from the first event.
    await send(subscriptionEvent('updated', { ...spec, status: 'past_due' }, t + 20));
    expect((await entitlement(user.token)).graceUntil).toBe(pastDue.graceUntil);
    await send(
      invoiceEvent('paid', { subscription: spec.id, customer: spec.customer, created: t + 30 }),
      subscriptionEvent('updated', { ...spec, status: 'active' }, t + 30),
    );
    expect(await entitlement(user.token)).toMatchObject({ premium: true, reason: 'active', graceUntil: null });
  });

  it('past_due events in reverse order: the grace still starts at the first one by created', async () => {
    const { user, spec, t } = await subscribedUser();
    await send(subscriptionEvent('updated', { ...spec, status: 'past_due' }, t + 500));
    await send(subscriptionEvent('updated', { ...spec, status: 'past_due' }, t + 100));
    expect((await entitlement(user.token)).graceUntil).toBe(new Date((t + 100 + 72 * 3600) * 1000).toISOString());
  });

  it('an invoice arriving before its subscription still records the payment', async () => {
    const user = await createUser(context.svc.baseUrl);
    const t = nowSeconds() - 100;
    const spec = { id: newId('sub'), customer: newId('cus'), status: 'active', userId: user.userId };
    await send(invoiceEvent('payment_failed', { subscription: spec.id, customer: spec.customer, created: t + 2, shape: 'legacy' }));
    await send(subscriptionEvent('created', spec, t));
    const payments = await context.svc.store.db
      .selectFrom('subscription_payments')
      .selectAll()
      .where('subscription_id', '=', spec.id)
      .executeTakeFirstOrThrow();
    expect(payments.last_payment_failed_at).toBe(t + 2);
    // Invoices never move the status.
    expect(await entitlement(user.token)).toMatchObject({ premium: true, status: 'active' });
  });

  it('past_due beyond the grace period does not grant access; unpaid neither', async () => {
    const user = await createUser(context.svc.baseUrl);
    const t = nowSeconds() - 73 * 3600;
    const spec = { id: newId('sub'), customer: newId('cus'), status: 'past_due', userId: user.userId };
    await send(subscriptionEvent('updated', spec, t));
    expect(await entitlement(user.token)).toMatchObject({ premium: false, reason: 'past_due_grace_expired', status: 'past_due' });
    await send(subscriptionEvent('updated', { ...spec, status: 'unpaid' }, t + 3600));
    expect(await entitlement(user.token)).toMatchObject({ premium: false, reason: 'unpaid' });
  });

  it('with several subscriptions, any granting one makes the user premium and describes the answer', async () => {
    const { user, spec, t } = await subscribedUser();
    await send(subscriptionEvent('deleted', { ...spec, status: 'canceled' }, t + 5));
    const second = { id: newId('sub'), customer: spec.customer, status: 'active', priceId: 'price_pro' };
    await send(subscriptionEvent('created', second, t + 6));
    expect(await entitlement(user.token)).toMatchObject({ premium: true, priceId: 'price_pro' });
  });

  it('reversed order: the record ends as the newest event says', async () => {
    const user = await createUser(context.svc.baseUrl);
    const t = nowSeconds() - 1000;
    const spec = { id: newId('sub'), customer: newId('cus'), status: 'incomplete', userId: user.userId };
    const events = [
      subscriptionEvent('created', spec, t),
      subscriptionEvent('updated', { ...spec, status: 'active' }, t + 1),
      subscriptionEvent('updated', { ...spec, status: 'active', priceId: 'price_pro' }, t + 2),
      subscriptionEvent('updated', { ...spec, status: 'active', priceId: 'price_pro', cancelAtPeriodEnd: true }, t + 3),
      subscriptionEvent('deleted', { ...spec, status: 'canceled', priceId: 'price_pro' }, t + 4),
    ];
    for (const event of [...events].reverse()) await send(event);
    expect(await entitlement(user.token)).toMatchObject({ premium: false, reason: 'canceled', priceId: 'price_pro' });
    const row = await context.svc.store.db.selectFrom('subscriptions').selectAll().where('id', '=', spec.id).executeTakeFirstOrThrow();
    expect(row.last_event_id).toBe(events[4]!.id);
  });

  it('shuffled and duplicated deliveries always end at the last event by created', async () => {
    const statuses = ['incomplete', 'active', 'past_due', 'active', 'active', 'canceled'] as const;
    for (let round = 0; round < 8; round++) {
      const user = await createUser(context.svc.baseUrl);
      const t = nowSeconds() - 5000;
      const spec = { id: newId('sub'), customer: newId('cus'), userId: user.userId };
      const events = statuses.map((status, i) =>
        subscriptionEvent(
          i === 0 ? 'created' : status === 'canceled' ? 'deleted' : 'updated',
          { ...spec, status, priceId: `price_${i}` },
          t + i * 10,
        ),
      );
      const deliveries = [...events, ...events.slice(0, 3)].sort(() => Math.random() - 0.5);
      await deliverAtOnce(deliveries);
      await context.svc.settle();
      expect(await entitlement(user.token)).toMatchObject({ premium: false, status: 'canceled', priceId: 'price_5' });
    }
  });

  it('the same event delivered 50 times at once is stored once and applied once', async () => {
    const user = await createUser(context.svc.baseUrl);
    const event = subscriptionEvent(
      'created',
      { id: newId('sub'), customer: newId('cus'), status: 'active', userId: user.userId },
      nowSeconds(),
    );
    const results = await deliverAtOnce(Array.from({ length: 50 }, () => event));
    expect(results.every((r) => r.status === 200 && r.body.received === true)).toBe(true);
    expect(results.filter((r) => !r.body.duplicate).length).toBeGreaterThanOrEqual(1);
    const stored = await context.svc.store.db.selectFrom('webhook_events').select(['status']).where('id', '=', event.id).execute();
    expect(stored).toHaveLength(1);
    await context.svc.settle();
    const history = await context.svc.store.db.selectFrom('subscription_history').selectAll().where('event_id', '=', event.id).execute();
    expect(history).toHaveLength(1);
    // Days later, the same delivery again: 200, duplicate, nothing changes.
    const later = await deliver(context.svc.baseUrl, event);
    expect(later).toEqual({ status: 200, body: { received: true, duplicate: true } });
  });

  it('a stored event is visible in the entitlement within one second of its 2xx', async () => {
    const user = await createUser(context.svc.baseUrl);
    const event = subscriptionEvent(
      'created',
      { id: newId('sub'), customer: newId('cus'), status: 'active', userId: user.userId },
      nowSeconds(),
    );
    context.publish([event]);
    expect((await deliver(context.svc.baseUrl, event)).status).toBe(200);
    const acknowledged = Date.now();
    let premium = false;
    while (!premium && Date.now() - acknowledged < 1000) {
      premium = (await entitlement(user.token)).premium;
      if (!premium) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(premium).toBe(true);
  });

  it('a customer belongs to the first user linked; a conflicting link is logged and ignored', async () => {
    const first = await createUser(context.svc.baseUrl);
    const second = await createUser(context.svc.baseUrl);
    const t = nowSeconds() - 100;
    const spec = { id: newId('sub'), customer: newId('cus'), status: 'active' };
    await send(
      checkoutCompletedEvent({ customer: spec.customer, userId: first.userId, subscription: spec.id, created: t }),
      subscriptionEvent('created', spec, t),
      customerEvent('updated', { id: spec.customer, userId: second.userId, created: t + 1 }),
    );
    expect((await entitlement(first.token)).premium).toBe(true);
    expect((await entitlement(second.token)).premium).toBe(false);
    expect(
      context.svc.logs.some(
        (l) => typeof l.warning === 'string' && l.warning.includes(spec.customer) && l.warning.includes('conflicting link'),
      ),
    ).toBe(true);
  });

  it('every change is explained by stored events and a history', async () => {
    const { spec, t } = await subscribedUser();
    await send(subscriptionEvent('updated', { ...spec, priceId: 'price_pro' }, t + 10));
    const history = await context.svc.store.db
      .selectFrom('subscription_history')
      .selectAll()
      .where('subscription_id', '=', spec.id)
      .orderBy('id')
      .execute();
    expect(history.map((h) => [h.event_type, h.status_before, h.status_after])).toEqual([
      ['customer.subscription.created', null, 'incomplete'],
      ['customer.subscription.updated', 'incomplete', 'active'],
      ['invoice.paid', null, null],
      ['customer.subscription.updated', 'active', 'active'],
    ]);
    expect(JSON.parse(history[3]!.changes)).toEqual({ priceId: ['price_basic', 'price_pro'] });
    for (const h of history) {
      const event = await storedEvent(context.svc.store.db, h.event_id);
      expect(event?.status).toBe('applied');
      expect(JSON.parse(event?.payload ?? 'null').id).toBe(h.event_id);
    }
  });
});
