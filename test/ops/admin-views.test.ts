import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/databases.js';
import { checkoutCompletedEvent, deliverAll, envelope, newId, nowSeconds, subscriptionEvent } from '../helpers/events.js';
import { useService } from '../helpers/service.js';
import { createUser } from '../helpers/users.js';

const ADMIN_TOKEN = 'admin-token-for-the-admin-views-tests';
const HOUR = 3_600_000;

/** The admin API's views that the dashboard shows too: activity, alerts, time filters, an event's effects, user search, installs. */
describe.each(BACKENDS)('admin views on $name', (backend) => {
  // Twenty minutes into an hour, so that "this hour" and "an hour ago" are clear buckets.
  const clock = Math.floor(Date.now() / HOUR) * HOUR + 20 * 60_000;
  const context = useService(backend, { config: { adminToken: ADMIN_TOKEN, retrySchedule: [] }, now: () => clock });

  async function admin(path: string) {
    const response = await fetch(`${context.svc.baseUrl}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    return { status: response.status, body: (await response.json()) as any };
  }

  async function subscribedUser() {
    const user = await createUser(context.svc.baseUrl);
    const spec = { id: newId('sub'), customer: newId('cus'), status: 'active', userId: user.userId };
    const t = nowSeconds() - 60;
    const created = subscriptionEvent('created', spec, t + 1);
    await deliverAll(context.svc.baseUrl, [
      checkoutCompletedEvent({ customer: spec.customer, userId: user.userId, subscription: spec.id, created: t }),
      created,
    ]);
    await context.svc.settle();
    return { ...user, spec, created };
  }

  it('activity: received and applied events land in the current hour and day; a dead one is counted dead', async () => {
    const before = (await admin('/admin/activity?range=24h')).body;
    expect(before).toMatchObject({ range: '24h', bucketSeconds: 3600 });
    expect(before.buckets).toHaveLength(24);
    expect(before.buckets.at(-1).start).toBe(new Date(Math.floor(clock / HOUR) * HOUR).toISOString());
    await subscribedUser();
    const broken = envelope('customer.subscription.updated', { object: 'subscription', id: newId('sub'), status: 'zombie' }, nowSeconds());
    await deliverAll(context.svc.baseUrl, [broken]);
    await context.svc.settle();
    const after = (await admin('/admin/activity?range=24h')).body.buckets.at(-1);
    const was = before.buckets.at(-1);
    expect(after.received - was.received).toBe(3);
    expect(after.applied - was.applied).toBe(2);
    expect(after.dead - was.dead).toBe(1);
    const week = (await admin('/admin/activity?range=7d')).body;
    expect(week.buckets).toHaveLength(7);
    expect(week.buckets.at(-1).received).toBeGreaterThanOrEqual(after.received);
    expect((await admin('/admin/activity?range=1y')).status).toBe(400);
  });

  it('alerts: the dead-events condition fires while a dead event is stored, with the default thresholds when alerts are off', async () => {
    const { body } = await admin('/admin/alerts');
    expect(body.notifying).toBe(false);
    expect(body.conditions.map((c: any) => c.condition)).toEqual(['dead_events', 'processing_failures', 'pending_backlog']);
    expect(body.conditions[0]).toMatchObject({ title: 'Dead webhook events', firing: true, value: 1 });
    expect(body.conditions[1].detail).toContain('threshold 10');
  });

  it('lists events received in a time range', async () => {
    const type = 'customer.subscription.paused';
    const event = subscriptionEvent('paused', { id: newId('sub'), customer: newId('cus'), status: 'paused' }, nowSeconds());
    const sentAt = Date.now(); // intake stamps arrivals with the wall clock
    await deliverAll(context.svc.baseUrl, [event]);
    const answeredAt = Date.now() + 1;
    const iso = (ms: number) => new Date(ms).toISOString();
    const inRange = await admin(`/admin/webhook-events?type=${type}&from=${iso(sentAt)}&to=${iso(answeredAt)}`);
    expect(inRange.body.events.map((e: any) => e.id)).toEqual([event.id]);
    expect((await admin(`/admin/webhook-events?type=${type}&to=${iso(sentAt)}`)).body.events).toEqual([]);
    expect((await admin(`/admin/webhook-events?type=${type}&from=${iso(answeredAt)}`)).body.events).toEqual([]);
    expect((await admin('/admin/webhook-events?from=yesterday')).status).toBe(400);
  });

  it("an event's page shows the record changes it made", async () => {
    const { spec, created } = await subscribedUser();
    const { body } = await admin(`/admin/webhook-events/${created.id}`);
    expect(body.effects).toEqual([
      expect.objectContaining({ subscriptionId: spec.id, eventId: created.id, statusBefore: null, statusAfter: 'active' }),
    ]);
  });

  it('finds a user by user id, customer id, subscription id or verified email, and shows the installs linked to it', async () => {
    const { userId, spec } = await subscribedUser();
    const { db } = context.svc.store;
    // The restore flow that links installs is tested in test/accounts; here, what the views read of it.
    await db.insertInto('account_emails').values({ email: 'buyer@example.test', user_id: userId, verified_at: clock }).execute();
    const install = await createUser(context.svc.baseUrl);
    // As a join leaves them: the install and the account's own row both point at the account.
    await db.updateTable('users').set({ account_id: userId }).where('id', 'in', [install.userId, userId]).execute();
    for (const query of [userId, spec.customer, spec.id, ' Buyer@Example.test '])
      expect((await admin(`/admin/users?query=${encodeURIComponent(query)}`)).body, query).toEqual({ users: [userId] });
    expect((await admin('/admin/users?query=sub_nobody')).body).toEqual({ users: [] });
    expect((await admin('/admin/users')).status).toBe(400);
    expect((await admin(`/admin/users/${userId}`)).body.installs).toEqual([{ userId: install.userId, createdAt: expect.any(String) }]);
  });
});
