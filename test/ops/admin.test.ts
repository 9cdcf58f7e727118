import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/databases.js';
import { checkoutCompletedEvent, deliverAll, envelope, invoiceEvent, newId, nowSeconds, subscriptionEvent } from '../helpers/events.js';
import { metricTotal } from '../helpers/metrics.js';
import { runCli } from '../helpers/processes.js';
import { TEST_SECRET, useService } from '../helpers/service.js';
import { createUser } from '../helpers/users.js';

const ADMIN_TOKEN = 'admin-token-for-the-admin-api-tests';

/** The admin API and the CLI show the same views of events, users and the queue. */
describe.each(BACKENDS)('admin API and CLI on $name', (backend) => {
  const context = useService(backend, { config: { adminToken: ADMIN_TOKEN } });

  async function admin(path: string, token = ADMIN_TOKEN) {
    const response = await fetch(`${context.svc.baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, body: (await response.json()) as any };
  }

  const cli = (...args: string[]) => runCli(args, { DATABASE_URL: context.database.url, STRIPE_WEBHOOK_SECRET: TEST_SECRET });

  it('refuses a wrong or missing admin token', async () => {
    expect((await admin('/admin/stats', 'wrong-token-of-some-length')).status).toBe(401);
    expect((await fetch(`${context.svc.baseUrl}/admin/stats`)).status).toBe(401);
  });

  it('lists events newest first, filtered, in pages that chain with a cursor', async () => {
    const type = 'customer.subscription.paused';
    const sent = Array.from({ length: 5 }, (_, i) =>
      subscriptionEvent('paused', { id: newId('sub'), customer: newId('cus'), status: 'paused' }, nowSeconds() - 10 + i),
    );
    await deliverAll(context.svc.baseUrl, sent);
    await context.svc.settle();
    const first = await admin(`/admin/webhook-events?type=${type}&limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.events.map((e: any) => e.id)).toEqual([sent[4]!.id, sent[3]!.id]);
    const second = await admin(`/admin/webhook-events?type=${type}&limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.events.map((e: any) => e.id)).toEqual([sent[2]!.id, sent[1]!.id]);
    const third = await admin(`/admin/webhook-events?type=${type}&limit=2&cursor=${second.body.nextCursor}`);
    expect(third.body).toMatchObject({ events: [{ id: sent[0]!.id, status: 'applied' }], nextCursor: null });
    expect((await admin('/admin/webhook-events?status=bogus')).status).toBe(400);
    expect((await admin('/admin/webhook-events?cursor=not-a-cursor')).status).toBe(400);
  });

  it('shows one event with its attempts and errors; the CLI says the same', async () => {
    const broken = envelope('customer.subscription.updated', { object: 'subscription', id: newId('sub'), status: 'zombie' }, nowSeconds());
    await deliverAll(context.svc.baseUrl, [broken]);
    await context.svc.settle();
    const { status, body } = await admin(`/admin/webhook-events/${broken.id}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: broken.id, status: 'dead', attempts: 1, payload: { id: broken.id } });
    expect(body.attemptLog).toEqual([
      expect.objectContaining({ attempt: 1, outcome: 'dead', error: expect.stringMatching(/data\.object\.customer/) }),
    ]);
    expect((await admin('/admin/webhook-events/evt_unknown')).status).toBe(404);

    const shown = JSON.parse((await cli('events', 'show', broken.id, '--json')).stdout);
    expect(shown).toEqual(body);
    const table = (await cli('events', 'list', '--status', 'dead')).stdout;
    expect(table.split('\n')[0]).toMatch(/^id\s+type\s+status\s+attempts\s+receivedAt\s+lastError$/);
    expect(table).toContain(broken.id);
  });

  it('shows a user: link to Stripe, subscriptions with history, entitlement with reason', async () => {
    const user = await createUser(context.svc.baseUrl);
    const t = nowSeconds() - 100;
    const spec = { id: newId('sub'), customer: newId('cus'), status: 'incomplete' };
    await deliverAll(context.svc.baseUrl, [
      checkoutCompletedEvent({ customer: spec.customer, userId: user.userId, subscription: spec.id, created: t }),
      subscriptionEvent('created', spec, t),
      subscriptionEvent('updated', { ...spec, status: 'past_due' }, t + 1),
      invoiceEvent('payment_failed', { subscription: spec.id, customer: spec.customer, created: t + 1 }),
    ]);
    await context.svc.settle();
    const { status, body } = await admin(`/admin/users/${user.userId}`);
    expect(status).toBe(200);
    expect(body.entitlement).toMatchObject({ premium: true, reason: 'past_due_in_grace' });
    expect(body.customers).toEqual([expect.objectContaining({ id: spec.customer })]);
    expect(body.subscriptions[0]).toMatchObject({
      id: spec.id,
      status: 'past_due',
      payments: expect.objectContaining({ last_payment_failed_at: t + 1 }),
    });
    expect(body.subscriptions[0].history.map((h: any) => h.statusAfter)).toEqual(['incomplete', 'past_due', null]);
    expect((await admin('/admin/users/usr_nobody')).status).toBe(404);

    expect(JSON.parse((await cli('user', user.userId, '--json')).stdout)).toEqual(body);
    expect((await cli('user', user.userId)).stdout).toMatch(/reason\s+past_due_in_grace/);
  });

  it('stats: counts by status, oldest pending age, last event received', async () => {
    const { body } = await admin('/admin/stats');
    expect(body.events.applied).toBeGreaterThan(0);
    expect(body.total).toBe(Object.values(body.events as Record<string, number>).reduce((a, b) => a + b, 0));
    expect(body).toHaveProperty('oldestPendingAgeSeconds');
    expect(new Date(body.lastEventReceivedAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
    // The service adds its own process's group fallbacks, which the CLI (another process) cannot know.
    const { groupFallbacks, ...shared } = body;
    expect(groupFallbacks).toBe(await metricTotal(context.svc.baseUrl, 'sync_group_fallbacks_total'));
    expect(JSON.parse((await cli('stats', '--json')).stdout)).toEqual(shared);
  });
});

describe('wrong admin tokens', () => {
  const context = useService(BACKENDS[0], {
    config: { adminToken: ADMIN_TOKEN, rateLimits: { signupsPerMinute: 100, authFailuresPerMinute: 3 } },
  });
  it('count towards the failed-authentication limit of the address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push(
        (await fetch(`${context.svc.baseUrl}/admin/stats`, { headers: { authorization: 'Bearer guessing-the-admin-token' } })).status,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});
