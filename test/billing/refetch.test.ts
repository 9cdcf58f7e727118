import SqliteDatabase from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { usePortal } from '../../tools/stripe-stand-in/user.js';
import { BACKENDS } from '../helpers/databases.js';
import { deliver, newId, nowSeconds, subscriptionEvent } from '../helpers/events.js';
import { eventsOf, payThroughCheckout, useBillingService } from '../helpers/stripe.js';
import { billing, createUser, getEntitlement } from '../helpers/users.js';

const SECOND = 1000;

/** Refetch mode: the worker stores Stripe's current state, read before its transaction opens. */
describe.each(BACKENDS)('refetch mode on $name', (backend) => {
  let clock = Date.now();
  const context = useBillingService(backend, {
    syncMode: 'refetch',
    now: () => clock,
    config: { retrySchedule: [30 * SECOND, 120 * SECOND] },
    worker: { random: () => 0.5 },
  });

  beforeEach(() => {
    clock = Date.now();
  });

  async function row(subscriptionId: string) {
    return context.svc.store.db.selectFrom('subscriptions').selectAll().where('id', '=', subscriptionId).executeTakeFirstOrThrow();
  }

  /** A user who paid in Checkout; the webhooks arrived and were applied. */
  async function subscribedUser() {
    const user = await createUser(context.svc.baseUrl);
    const { subscriptionId } = await payThroughCheckout(context, user.token);
    const portal = (await billing(context.svc.baseUrl, user.token, 'portal')).body.url as string;
    return { user, subscriptionId, portal };
  }

  it("events delivered in reverse order end at Stripe's current state", async () => {
    const { user, subscriptionId, portal } = await subscribedUser();
    context.standIn.webhooks.enabled = false;
    try {
      await usePortal(portal, subscriptionId, { switchTo: 'price_pro' });
      await usePortal(portal, subscriptionId, 'cancel-at-period-end');
    } finally {
      context.standIn.webhooks.enabled = true;
    }
    const events = eventsOf(context.standIn, subscriptionId);
    const reads = () => context.standIn.requests.filter((r) => r.path === `/v1/subscriptions/${subscriptionId}`).length;
    const readsBefore = reads();
    for (const event of [...events].reverse()) expect(await context.standIn.webhooks.deliver(event)).toBe(200);
    await context.svc.settle();
    expect(await row(subscriptionId)).toMatchObject({
      status: 'active',
      price_id: 'price_pro',
      cancel_at_period_end: 1,
      last_event_created: events.at(-1)!.created,
    });
    expect(await getEntitlement(context.svc.baseUrl, user.token)).toMatchObject({
      premium: true,
      priceId: 'price_pro',
      cancelAtPeriodEnd: true,
    });
    // Every subscription event read the subscription (duplicates of earlier deliveries are not applied again).
    const subscriptionEvents = events.filter((e) => e.type.startsWith('customer.subscription.'));
    expect(reads() - readsBefore).toBe(subscriptionEvents.length - 1);
  });

  it.each([500, 429, 'timeout'] as const)('Stripe failing (%s) on the read is a retry on the schedule, not a lost event', async (kind) => {
    const { user, subscriptionId, portal } = await subscribedUser();
    context.standIn.injectFailure({ kind, times: 1, path: '/v1/subscriptions/' });
    await usePortal(portal, subscriptionId, { switchTo: 'price_pro' });
    await context.standIn.webhooks.flush();
    await context.svc.settle();
    const [update] = eventsOf(context.standIn, subscriptionId).slice(-1);
    const failed = await context.svc.store.db
      .selectFrom('webhook_events')
      .selectAll()
      .where('id', '=', update!.id)
      .executeTakeFirstOrThrow();
    expect(failed).toMatchObject({ status: 'failed', attempts: 1, next_attempt_at: clock + 30 * SECOND });
    expect(failed.last_error).toMatch(
      kind === 'timeout'
        ? /reading subscription .* failed: Request aborted due to timeout/
        : /reading subscription .* failed: .*\(request req_\w+\)/,
    );
    expect(await getEntitlement(context.svc.baseUrl, user.token)).toMatchObject({ priceId: 'price_basic' });
    clock += 30 * SECOND;
    await context.svc.settle();
    expect(
      await context.svc.store.db
        .selectFrom('webhook_events')
        .select(['status', 'attempts'])
        .where('id', '=', update!.id)
        .executeTakeFirstOrThrow(),
    ).toEqual({ status: 'applied', attempts: 2 });
    expect(await getEntitlement(context.svc.baseUrl, user.token)).toMatchObject({ premium: true, priceId: 'price_pro' });
  });

  it('a subscription Stripe does not know is dead at once, with the reason', async () => {
    const event = subscriptionEvent('updated', { id: newId('sub'), customer: newId('cus'), status: 'active' }, nowSeconds());
    expect((await deliver(context.svc.baseUrl, event)).status).toBe(200);
    await context.svc.settle();
    const stored = await context.svc.store.db.selectFrom('webhook_events').selectAll().where('id', '=', event.id).executeTakeFirstOrThrow();
    expect(stored.status).toBe('dead');
    expect(stored.last_error).toMatch(/does not exist in Stripe for this STRIPE_SECRET_KEY/);
  });

  if (backend.name === 'sqlite') {
    it('while the worker waits for Stripe, no database write lock is held', async () => {
      const { subscriptionId, portal } = await subscribedUser();
      context.standIn.injectFailure({ kind: 'timeout', times: 1, path: '/v1/subscriptions/' });
      await usePortal(portal, subscriptionId, 'cancel-at-period-end');
      await context.standIn.webhooks.flush();
      // The stand-in now holds the worker's read unanswered.
      await expect.poll(() => context.standIn.heldRequests, { timeout: 5000 }).toBe(1);
      const other = new SqliteDatabase(context.database.url.slice('sqlite:'.length), { timeout: 0 });
      try {
        expect(() => other.exec('BEGIN IMMEDIATE; COMMIT;')).not.toThrow();
      } finally {
        other.close();
      }
      await context.svc.settle();
    });
  }
});
