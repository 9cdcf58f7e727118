import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookEventRow } from '../../src/db/index.js';
import { BACKENDS } from '../helpers/databases.js';
import { deliver, deliverAll, newId, nowSeconds, subscriptionEvent } from '../helpers/events.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { useService } from '../helpers/service.js';

const ADMIN_TOKEN = 'admin-token-for-the-alert-tests';

/** Built-in alerts posted to a local Slack-compatible receiver. */
describe.each(BACKENDS)('built-in alerts on $name', (backend) => {
  let receiver: Receiver;
  const failing = new Set<string>();
  /** The test's fault switch: applying a listed event fails. */
  const failListed = (row: WebhookEventRow) => {
    if (failing.has(row.id)) throw new Error('injected failure');
  };
  const alerts = {
    webhookUrl: '',
    windowMs: 300_000,
    checkIntervalMs: 3_600_000,
    failureThreshold: 3,
    backlogAgeMs: 600_000,
    signatureFailureThreshold: 5,
  };
  beforeAll(async () => {
    receiver = await startReceiver();
    alerts.webhookUrl = receiver.url;
  });
  afterAll(async () => receiver?.close());

  const context = useService(backend, {
    config: { alerts, retrySchedule: [], adminToken: ADMIN_TOKEN },
    worker: { afterApply: failListed },
  });

  /** One evaluation, then the texts that reached the receiver because of it. */
  async function check(): Promise<string[]> {
    const before = receiver.bodies.length;
    await context.svc.service.alerts!.check();
    await new Promise((resolve) => setTimeout(resolve, 100));
    return receiver.bodies.slice(before).map((b) => b.text);
  }

  it('alerts once when an event goes dead, then says resolved after the replay', async () => {
    expect(await check()).toEqual([]);
    const event = subscriptionEvent('created', { id: newId('sub'), customer: newId('cus'), status: 'active' }, nowSeconds());
    failing.add(event.id);
    await deliverAll(context.svc.baseUrl, [event]);
    await context.svc.settle();
    const fired = await check();
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatch(new RegExp(`Dead webhook events: 1 dead event\\(s\\), newest ${event.id}`));
    expect(await check()).toEqual([]); // no flood

    failing.delete(event.id);
    const replay = await fetch(`${context.svc.baseUrl}/admin/webhook-events/${event.id}/replay`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(replay.status).toBe(200);
    await context.svc.settle();
    expect(await check()).toEqual([expect.stringMatching(/Dead webhook events resolved/)]);
  });

  it('alerts on a burst of processing failures', async () => {
    const events = Array.from({ length: 3 }, () =>
      subscriptionEvent('created', { id: newId('sub'), customer: newId('cus'), status: 'active' }, nowSeconds()),
    );
    for (const e of events) failing.add(e.id);
    await deliverAll(context.svc.baseUrl, events);
    await context.svc.settle();
    const fired = await check();
    expect(fired).toEqual(expect.arrayContaining([expect.stringMatching(/Webhook processing failures: [3-9] failed processing attempt/)]));
  });

  it('alerts when the oldest waiting event is older than the threshold', async () => {
    const old = Date.now() - 700_000;
    await context.svc.store.db
      .insertInto('webhook_events')
      .values({
        id: newId('evt'),
        type: 'customer.updated',
        api_version: null,
        livemode: 0,
        created: 1,
        received_at: old,
        status: 'failed',
        attempts: 1,
        next_attempt_at: Date.now() + 86_400_000,
      })
      .execute();
    expect(await check()).toEqual(expect.arrayContaining([expect.stringMatching(/Webhook backlog: oldest waiting event is 7\d\d s old/)]));
  });

  it('alerts on a spike of signature failures', async () => {
    for (let i = 0; i < 5; i++) {
      const event = subscriptionEvent('updated', { id: newId('sub'), customer: newId('cus'), status: 'active' }, nowSeconds());
      expect((await deliver(context.svc.baseUrl, event, { secret: 'whsec_not_the_configured_secret_at_all' })).status).toBe(400);
    }
    expect(await check()).toEqual(expect.arrayContaining([expect.stringMatching(/Webhook signature failures: 5 refused signature/)]));
  });

  describe('with a receiver that fails', () => {
    const own = useService(backend, {
      config: { alerts, retrySchedule: [] },
      worker: { afterApply: failListed },
    });

    it('the failure is logged and never blocks processing', async () => {
      receiver.status = 500;
      try {
        const dead = subscriptionEvent('created', { id: newId('sub'), customer: newId('cus'), status: 'active' }, nowSeconds());
        failing.add(dead.id);
        await deliverAll(own.svc.baseUrl, [dead]);
        await own.svc.settle();
        await own.svc.service.alerts!.check();
        await expect.poll(() => own.svc.logs.some((l) => l.msg === 'alert receiver refused an alert' && l.status === 500)).toBe(true);
        const good = subscriptionEvent('created', { id: newId('sub'), customer: newId('cus'), status: 'active' }, nowSeconds());
        await deliverAll(own.svc.baseUrl, [good]);
        await own.svc.settle();
        const row = await own.svc.store.db
          .selectFrom('webhook_events')
          .select('status')
          .where('id', '=', good.id)
          .executeTakeFirstOrThrow();
        expect(row.status).toBe('applied');
      } finally {
        receiver.status = 200;
      }
    });
  });
});
