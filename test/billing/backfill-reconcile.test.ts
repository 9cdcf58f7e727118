import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createStripeClient, reconcile, startBillingJobs } from '../../src/billing/index.js';
import { createMetrics } from '../../src/ops/index.js';
import { BILLING_OFF } from '../helpers/billing-off.js';
import { BACKENDS } from '../helpers/databases.js';
import { runCli } from '../helpers/processes.js';
import { payThroughCheckout, TEST_STRIPE_KEY, useBillingService } from '../helpers/stripe.js';
import { createUser, getEntitlement } from '../helpers/users.js';

/** Recovering what webhooks never delivered (backfill) and repairing what is wrong (reconcile), through the real CLI. */
describe.each(BACKENDS)('backfill and reconcile on $name', (backend) => {
  const context = useBillingService(backend);

  const cli = (...args: string[]) =>
    runCli(args, {
      DATABASE_URL: context.database.url,
      STRIPE_WEBHOOK_SECRET: 'whsec_unused_by_the_cli',
      STRIPE_SECRET_KEY: TEST_STRIPE_KEY,
      STRIPE_API_URL: context.standIn.url,
    });

  /** A user who paid while every webhook was lost (and who closed the tab before the redirect). */
  async function paidWithoutWebhooks() {
    const user = await createUser(context.svc.baseUrl);
    return { user, ...(await payThroughCheckout(context, user.token, { webhooks: false })) };
  }

  it('backfill stores the events that were never delivered; the worker applies them; a second run stores nothing', async () => {
    const { user } = await paidWithoutWebhooks();
    expect((await getEntitlement(context.svc.baseUrl, user.token)).premium).toBe(false);
    const first = await cli('backfill', '--since', '1h');
    expect(first.stdout).toMatch(/backfill: (\d+) event\(s\) read from Stripe, [1-9]\d* stored, \d+ already stored, 0 invalid/);
    await context.svc.settle();
    expect(await getEntitlement(context.svc.baseUrl, user.token)).toMatchObject({ premium: true, status: 'active' });
    const second = await cli('backfill', '--since', '1h');
    expect(second.stdout).toMatch(/backfill: (\d+) event\(s\) read from Stripe, 0 stored, \1 already stored, 0 invalid/);
  });

  it('BACKFILL_ON_START: the worker process backfills from before the newest stored event when it starts', async () => {
    const { user } = await paidWithoutWebhooks();
    const jobs = startBillingJobs({
      config: { backfillOnStart: true, reconcileIntervalMs: undefined },
      stripe: createStripeClient({ ...BILLING_OFF, stripeSecretKey: TEST_STRIPE_KEY, stripeApiUrl: context.standIn.url }),
      store: context.svc.store,
      logger: pino({ level: 'silent' }),
      onStored: () => context.svc.service.worker?.kick(),
    });
    await jobs.stop(); // waits for the start-up backfill to finish
    await context.svc.settle();
    expect(await getEntitlement(context.svc.baseUrl, user.token)).toMatchObject({ premium: true, status: 'active' });
  });

  it('reconcile reports (dry run), then repairs a record corrupted in the database', async () => {
    const user = await createUser(context.svc.baseUrl);
    const { subscriptionId } = await payThroughCheckout(context, user.token);
    await context.svc.store.db
      .updateTable('subscriptions')
      .set({ status: 'canceled', price_id: 'price_corrupt' })
      .where('id', '=', subscriptionId)
      .execute();
    expect((await getEntitlement(context.svc.baseUrl, user.token)).premium).toBe(false);

    const dry = await cli('reconcile', '--dry-run');
    expect(dry.stdout).toContain(
      `differs ${subscriptionId}: status stored="canceled" stripe="active"; priceId stored="price_corrupt" stripe="price_basic"`,
    );
    expect(dry.stdout).toMatch(/reconcile \(dry run\): \d+ subscription\(s\) checked, [1-9]\d* different, 0 repaired/);
    expect((await getEntitlement(context.svc.baseUrl, user.token)).premium).toBe(false);

    const repair = await cli('reconcile');
    expect(repair.stdout).toContain(`repairing ${subscriptionId}: status`);
    expect(repair.stdout).toMatch(/[1-9]\d* repaired/);
    expect(await getEntitlement(context.svc.baseUrl, user.token)).toMatchObject({
      premium: true,
      status: 'active',
      priceId: 'price_basic',
    });
    const history = await context.svc.store.db
      .selectFrom('subscription_history')
      .selectAll()
      .where('subscription_id', '=', subscriptionId)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(history).toMatchObject({ event_type: 'reconcile', status_before: 'canceled', status_after: 'active' });
  });

  it('RECONCILE_INTERVAL: the worker process repairs on its schedule, logs the difference and counts it', async () => {
    const user = await createUser(context.svc.baseUrl);
    const { subscriptionId } = await payThroughCheckout(context, user.token);
    await context.svc.store.db.updateTable('subscriptions').set({ cancel_at_period_end: 1 }).where('id', '=', subscriptionId).execute();
    const metrics = createMetrics();
    const logged: unknown[] = [];
    const jobs = startBillingJobs({
      config: { backfillOnStart: false, reconcileIntervalMs: 50 },
      stripe: createStripeClient({ ...BILLING_OFF, stripeSecretKey: TEST_STRIPE_KEY, stripeApiUrl: context.standIn.url }),
      store: context.svc.store,
      logger: pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line)) }),
      metrics,
      onStored: () => {},
    });
    try {
      await expect
        .poll(async () => (await getEntitlement(context.svc.baseUrl, user.token)).cancelAtPeriodEnd, { timeout: 10_000 })
        .toBe(false);
    } finally {
      await jobs.stop();
    }
    expect(logged).toContainEqual(expect.objectContaining({ msg: 'reconcile: record differs from Stripe', subscriptionId }));
    expect(await metrics.registry.getSingleMetricAsString('stripe_reconcile_differences_total')).toMatch(
      /field="cancelAtPeriodEnd"\} [1-9]/,
    );
  });

  it('reconcile pages through every subscription (status all) and counts differences in a metric', async () => {
    if (context.standIn.state.subscriptions.size === 0) await paidWithoutWebhooks();
    const template = [...context.standIn.state.subscriptions.values()][0];
    for (let i = 0; i < 230; i++)
      context.standIn.state.putSubscription({ ...structuredClone(template), id: `sub_bulk_${i}`, status: i % 2 ? 'active' : 'canceled' });
    const metrics = createMetrics();
    const before = context.standIn.requests.length;
    const counts = await reconcile({
      stripe: createStripeClient({ ...BILLING_OFF, stripeSecretKey: TEST_STRIPE_KEY, stripeApiUrl: context.standIn.url })!,
      store: context.svc.store,
      dryRun: true,
      metrics,
      pageSize: 100,
      onDifference: () => {},
      onFailure: (id, error) => expect.fail(`${id}: ${String(error)}`),
    });
    const total = context.standIn.state.subscriptions.size;
    expect(counts.checked).toBe(total);
    expect(counts.different).toBeGreaterThanOrEqual(230);
    const pages = context.standIn.requests.slice(before).filter((r) => r.path === '/v1/subscriptions');
    expect(pages).toHaveLength(Math.ceil(total / 100));
    const metric = await metrics.registry.getSingleMetricAsString('stripe_reconcile_differences_total');
    expect(metric).toMatch(new RegExp(`stripe_reconcile_differences_total\\{field="missing"\\} ${counts.different}`));
  });

  it('backfill counts an event it cannot store as invalid, not as already stored, and says which', async () => {
    if (context.standIn.state.events.length === 0) await paidWithoutWebhooks();
    const bad = {
      ...structuredClone(context.standIn.state.events.at(-1)!),
      id: 'evt_bad\u0001control',
      created: Math.floor(Date.now() / 1000),
    };
    context.standIn.state.events.push(bad);
    try {
      const { stdout, stderr } = await cli('backfill', '--since', '1h');
      expect(stdout).toMatch(/backfill: (\d+) event\(s\) read from Stripe, 0 stored, \d+ already stored, 1 invalid/);
      expect(stderr).toContain('backfill: skipped event "evt_bad\\u0001control": not a well-formed Stripe event');
      expect(await context.svc.store.db.selectFrom('webhook_events').select('id').where('id', '=', bad.id).execute()).toEqual([]);
    } finally {
      context.standIn.state.events.splice(context.standIn.state.events.indexOf(bad), 1);
    }
  });
});
