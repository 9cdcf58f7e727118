import { beforeEach, describe, expect, it } from 'vitest';
import type { WebhookEventRow } from '../../src/db/index.js';
import { BACKENDS } from '../helpers/databases.js';
import { deliverAll, newId, nowSeconds, subscriptionEvent } from '../helpers/events.js';
import { runCli } from '../helpers/processes.js';
import { useService } from '../helpers/service.js';
import { createUser, getEntitlement } from '../helpers/users.js';

const ADMIN_TOKEN = 'admin-token-for-the-retry-tests';
const SECOND = 1000;

/** Retries on the schedule (an injected clock, no sleeps), dead letters, replay by admin API and CLI. */
describe.each(BACKENDS)('retries, dead events and replay on $name', (backend) => {
  let clock = Date.now();
  /** The test's fault switch: how many more times applying an event fails. */
  const failuresLeft = new Map<string, number>();
  const context = useService(backend, {
    now: () => clock,
    config: { retrySchedule: [30 * SECOND, 120 * SECOND, 600 * SECOND], adminToken: ADMIN_TOKEN },
    worker: {
      random: () => 0.5, // no jitter, so the schedule is exact
      afterApply: (row: WebhookEventRow) => {
        const left = failuresLeft.get(row.id) ?? 0;
        if (left > 0) {
          failuresLeft.set(row.id, left - 1);
          throw new Error('injected transient failure');
        }
      },
    },
  });

  beforeEach(() => {
    clock = Date.now();
  });

  async function row(id: string) {
    return context.svc.store.db.selectFrom('webhook_events').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  }

  async function at(time: number) {
    clock = time;
    await context.svc.settle();
  }

  function replay(id: string, token = ADMIN_TOKEN) {
    return fetch(`${context.svc.baseUrl}/admin/webhook-events/${id}/replay`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
  }

  async function deadEvent(): Promise<{ id: string; token: string }> {
    const user = await createUser(context.svc.baseUrl);
    const event = subscriptionEvent(
      'created',
      { id: newId('sub'), customer: newId('cus'), status: 'active', userId: user.userId },
      nowSeconds(),
    );
    failuresLeft.set(event.id, Number.POSITIVE_INFINITY);
    await deliverAll(context.svc.baseUrl, [event]);
    const start = clock;
    await at(start);
    for (const delay of [30, 150, 750]) await at(start + delay * SECOND);
    expect(await row(event.id)).toMatchObject({ status: 'dead', attempts: 4, last_error: 'injected transient failure' });
    return { id: event.id, token: user.token };
  }

  it('a transient failure is retried at the scheduled times, then applied', async () => {
    const user = await createUser(context.svc.baseUrl);
    const event = subscriptionEvent(
      'created',
      { id: newId('sub'), customer: newId('cus'), status: 'active', userId: user.userId },
      nowSeconds(),
    );
    failuresLeft.set(event.id, 2);
    await deliverAll(context.svc.baseUrl, [event]);
    const start = clock;
    await at(start);
    expect(await row(event.id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      next_attempt_at: start + 30 * SECOND,
      last_error: 'injected transient failure',
    });
    expect((await getEntitlement(context.svc.baseUrl, user.token)).premium).toBe(false);
    const logged = context.svc.logs.find((l) => l.eventId === event.id && l.outcome === 'failed');
    expect(logged).toMatchObject({
      type: 'customer.subscription.created',
      attempt: 1,
      nextAttemptAt: new Date(start + 30 * SECOND).toISOString(),
      error: 'injected transient failure',
    });

    await at(start + 30 * SECOND - 1);
    expect(await row(event.id)).toMatchObject({ status: 'failed', attempts: 1 });
    await at(start + 30 * SECOND);
    expect(await row(event.id)).toMatchObject({ status: 'failed', attempts: 2, next_attempt_at: start + 150 * SECOND });
    await at(start + 150 * SECOND);
    expect(await row(event.id)).toMatchObject({ status: 'applied', attempts: 3, last_error: null });
    expect((await getEntitlement(context.svc.baseUrl, user.token)).premium).toBe(true);
  });

  it('after the last attempt the event is dead; an admin replay brings it back', async () => {
    const dead = await deadEvent();
    expect(context.svc.logs.some((l) => l.eventId === dead.id && l.outcome === 'dead')).toBe(true);
    expect((await replay(dead.id, 'not-the-admin-token-at-all')).status).toBe(401);
    expect((await replay('evt_does_not_exist')).status).toBe(404);
    failuresLeft.delete(dead.id);
    const replayed = await replay(dead.id);
    expect(replayed.status).toBe(200);
    expect(await replayed.json()).toEqual({ replayed: [dead.id] });
    await context.svc.settle();
    expect(await row(dead.id)).toMatchObject({ status: 'applied', attempts: 1 });
    expect((await getEntitlement(context.svc.baseUrl, dead.token)).premium).toBe(true);
    // Replaying an applied event is harmless: nothing changes, no second history row.
    expect((await replay(dead.id)).status).toBe(200);
    await context.svc.settle();
    const history = await context.svc.store.db.selectFrom('subscription_history').select('id').where('event_id', '=', dead.id).execute();
    expect(history).toHaveLength(1);
    expect(await row(dead.id)).toMatchObject({ status: 'applied' });
  });

  it('`npm run cli -- replay --status dead` puts every dead event back', async () => {
    const dead = await deadEvent();
    failuresLeft.delete(dead.id);
    const { stdout } = await runCli(['replay', '--status', 'dead'], {
      DATABASE_URL: context.database.url,
      STRIPE_WEBHOOK_SECRET: 'whsec_unused_by_the_cli',
    });
    expect(stdout).toMatch(new RegExp(`replayed \\d+ dead event\\(s\\): .*${dead.id}`));
    await context.svc.settle();
    expect(await row(dead.id)).toMatchObject({ status: 'applied' });
  });
});

describe('admin routes without ADMIN_TOKEN', () => {
  const context = useService(BACKENDS[0]);
  it('do not exist', async () => {
    const response = await fetch(`${context.svc.baseUrl}/admin/webhook-events/evt_1/replay`, {
      method: 'POST',
      headers: { authorization: 'Bearer anything-at-all-here' },
    });
    expect(response.status).toBe(404);
  });
});
