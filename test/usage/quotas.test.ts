import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/databases.js';
import { checkoutCompletedEvent, deliverAll, newId, nowSeconds, type SubscriptionSpec, subscriptionEvent } from '../helpers/events.js';
import { type RunningService, useService } from '../helpers/service.js';
import { createUser, getEntitlement } from '../helpers/users.js';

/** Usage quotas over real HTTP on each database, with the service's clock in the test's hands. */

const LIMITS = {
  summarize: {
    free: { limit: 5, per: 'day' as const },
    price_basic: { limit: 50, per: 'month' as const },
    prod_pro: { limit: null, per: null },
  },
  export: { price_basic: { limit: 3, per: 'lifetime' as const } },
};
const DAY_MS = 86_400_000;

async function post(svc: RunningService, token: string, path: string, body?: unknown) {
  const response = await fetch(`${svc.baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

const consume = (svc: RunningService, token: string, feature: string, body: unknown = {}) => post(svc, token, `/v1/usage/${feature}`, body);

async function usage(svc: RunningService, token: string, feature: string) {
  const response = await fetch(`${svc.baseUrl}/v1/usage/${feature}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as any };
}

describe.each(BACKENDS)('usage quotas on $name', (backend) => {
  // Noon UTC today: a day's boundary is twelve hours away either side.
  let clock = Math.floor(Date.now() / DAY_MS) * DAY_MS + DAY_MS / 2;
  const context = useService(backend, { config: { usageLimits: LIMITS }, now: () => clock });

  /** Makes the user premium on a price through a delivered checkout and subscription event. */
  async function subscribe(userId: string, priceId: string, productId = 'prod_basic') {
    const spec: SubscriptionSpec = { id: newId('sub'), customer: newId('cus'), status: 'active', priceId, productId };
    const t = nowSeconds() - 60;
    await deliverAll(context.svc.baseUrl, [
      checkoutCompletedEvent({ customer: spec.customer, userId, subscription: spec.id, created: t }),
      subscriptionEvent('created', spec, t),
    ]);
    await context.svc.settle();
    return { spec, t };
  }

  it('the 6th consume of 5 is refused, whole, and counts nothing', async () => {
    const { token } = await createUser(context.svc.baseUrl);
    for (let i = 1; i <= 5; i++) {
      const answer = await consume(context.svc, token, 'summarize');
      expect(answer).toEqual({
        status: 200,
        body: {
          allowed: true,
          feature: 'summarize',
          used: i,
          limit: 5,
          remaining: 5 - i,
          resetsAt: new Date(Math.ceil(clock / DAY_MS) * DAY_MS).toISOString(),
          per: 'day',
        },
      });
    }
    const refused = await consume(context.svc, token, 'summarize');
    expect(refused.status).toBe(402);
    expect(refused.body).toMatchObject({ error: 'quota_exceeded', allowed: false, used: 5, limit: 5, remaining: 0 });
    expect((await usage(context.svc, token, 'summarize')).body).toMatchObject({ feature: 'summarize', used: 5, remaining: 0 });
  });

  it('a consumption of several that does not fit is refused whole', async () => {
    const { token } = await createUser(context.svc.baseUrl);
    expect((await consume(context.svc, token, 'summarize', { amount: 3 })).body.used).toBe(3);
    expect((await consume(context.svc, token, 'summarize', { amount: 3 })).status).toBe(402);
    expect((await consume(context.svc, token, 'summarize', { amount: 2 })).body).toMatchObject({ allowed: true, used: 5 });
  });

  it('64 concurrent consumes against a limit of 50: exactly 50 allowed', async () => {
    const { userId, token } = await createUser(context.svc.baseUrl);
    await subscribe(userId, 'price_basic');
    const answers = await Promise.all(Array.from({ length: 64 }, () => consume(context.svc, token, 'summarize')));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(50);
    expect(answers.filter((a) => a.status === 402)).toHaveLength(14);
    expect(new Set(answers.filter((a) => a.status === 200).map((a) => a.body.used)).size).toBe(50);
    expect((await usage(context.svc, token, 'summarize')).body).toMatchObject({ used: 50, limit: 50, remaining: 0 });
  });

  it('the same idempotency key answers the first answer again and counts once, even at once', async () => {
    const { token } = await createUser(context.svc.baseUrl);
    const key = newId('idem');
    const answers = await Promise.all(Array.from({ length: 8 }, () => consume(context.svc, token, 'summarize', { idempotencyKey: key })));
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(answers[0]!.body.used).toBe(1);
    expect((await consume(context.svc, token, 'summarize', { idempotencyKey: key, amount: 2 })).body.used).toBe(1);
    expect((await usage(context.svc, token, 'summarize')).body.used).toBe(1);
    // Another key, or another feature with the same key, counts on its own.
    expect((await consume(context.svc, token, 'summarize', { idempotencyKey: newId('idem') })).body.used).toBe(2);
  });

  it('a refusal with a key is answered again as a refusal, even after room is made', async () => {
    const { token } = await createUser(context.svc.baseUrl);
    await consume(context.svc, token, 'summarize', { amount: 5 });
    const key = newId('idem');
    expect((await consume(context.svc, token, 'summarize', { idempotencyKey: key })).status).toBe(402);
    clock += DAY_MS;
    try {
      expect((await consume(context.svc, token, 'summarize', { idempotencyKey: key })).status).toBe(402);
      expect((await consume(context.svc, token, 'summarize')).status).toBe(200);
    } finally {
      clock -= DAY_MS;
    }
  });

  it('an upgrade raises the limit at once, and what was used stays counted', async () => {
    const { userId, token } = await createUser(context.svc.baseUrl);
    await consume(context.svc, token, 'summarize', { amount: 5 });
    expect((await consume(context.svc, token, 'summarize')).status).toBe(402);
    await subscribe(userId, 'price_basic');
    expect((await consume(context.svc, token, 'summarize')).body).toMatchObject({ allowed: true, used: 6, limit: 50, remaining: 44 });
  });

  it('a plan by product is unlimited: limit and remaining are null', async () => {
    const { userId, token } = await createUser(context.svc.baseUrl);
    await subscribe(userId, 'price_pro_yearly', 'prod_pro');
    expect((await consume(context.svc, token, 'summarize', { amount: 1000 })).body).toMatchObject({
      allowed: true,
      used: 1000,
      limit: null,
      remaining: null,
      resetsAt: null,
      per: null,
    });
  });

  it('the free day resets at midnight UTC', async () => {
    const { token } = await createUser(context.svc.baseUrl);
    const saved = clock;
    try {
      clock = Math.ceil(clock / DAY_MS) * DAY_MS - 1;
      expect((await consume(context.svc, token, 'summarize', { amount: 5 })).body.resetsAt).toBe(new Date(clock + 1).toISOString());
      expect((await consume(context.svc, token, 'summarize')).status).toBe(402);
      clock += 1;
      expect((await consume(context.svc, token, 'summarize')).body).toMatchObject({ used: 1, remaining: 4 });
    } finally {
      clock = saved;
    }
  });

  it('a feature without a free entry cannot be used on free; a lifetime quota never resets', async () => {
    const { userId, token } = await createUser(context.svc.baseUrl);
    expect((await consume(context.svc, token, 'export')).body).toMatchObject({ error: 'quota_exceeded', limit: 0 });
    await subscribe(userId, 'price_basic');
    expect((await consume(context.svc, token, 'export', { amount: 3 })).body).toMatchObject({ used: 3, resetsAt: null, per: 'lifetime' });
    expect((await consume(context.svc, token, 'export')).status).toBe(402);
  });

  it('the entitlement answer carries every configured feature', async () => {
    const { token } = await createUser(context.svc.baseUrl);
    await consume(context.svc, token, 'summarize', { amount: 2 });
    expect((await getEntitlement(context.svc.baseUrl, token)).usage).toEqual({
      summarize: { used: 2, limit: 5, remaining: 3, resetsAt: new Date(Math.ceil(clock / DAY_MS) * DAY_MS).toISOString(), per: 'day' },
      export: { used: 0, limit: 0, remaining: 0, resetsAt: null, per: null },
    });
  });

  it('unknown features, bad bodies and missing tokens are refused clearly and count nothing', async () => {
    const { token } = await createUser(context.svc.baseUrl);
    expect(await consume(context.svc, token, 'translate')).toMatchObject({ status: 404, body: { error: 'unknown_feature' } });
    expect((await usage(context.svc, token, 'translate')).status).toBe(404);
    for (const body of [
      { amount: 0 },
      { amount: 1.5 },
      { amount: '1' },
      { idempotencyKey: 'k'.repeat(201) },
      { idempotencyKey: '' },
      { extra: 1 },
    ]) {
      expect((await consume(context.svc, token, 'summarize', body)).body.error).toBe('invalid_request');
    }
    expect((await consume(context.svc, 'x'.repeat(43), 'summarize')).status).toBe(401);
    expect((await usage(context.svc, token, 'summarize')).body.used).toBe(0);
  });

  it('counts allowed and refused consumptions by feature, never by user', async () => {
    const { token } = await createUser(context.svc.baseUrl);
    const checks = async () =>
      [...(await (await fetch(`${context.svc.baseUrl}/metrics`)).text()).matchAll(/^entitlement_checks_total\{[^}]*\} (\d+)/gm)]
        .map((m) => Number(m[1]))
        .reduce((a, b) => a + b, 0);
    const checksBefore = await checks();
    await consume(context.svc, token, 'export');
    // A consumption is counted as one, not as an entitlement check.
    expect(await checks()).toBe(checksBefore);
    const metrics = await (await fetch(`${context.svc.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/usage_consumptions_total\{feature="summarize",result="allowed"\} \d+/);
    expect(metrics).toMatch(/usage_consumptions_total\{feature="export",result="refused"\} [1-9]/);
    expect(metrics).not.toMatch(/usage_consumptions_total\{[^}]*usr_/);
  });
});
