import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyEntitlement } from '../../packages/verify-entitlement/index.js';
import { BACKENDS } from '../helpers/databases.js';
import { checkoutCompletedEvent, deliverAll, newId, nowSeconds, subscriptionEvent } from '../helpers/events.js';
import { registerSecret } from '../helpers/log-scan.js';
import { runCli } from '../helpers/processes.js';
import { type RunningService, TEST_ISSUER, useService } from '../helpers/service.js';
import { createUser, getEntitlement } from '../helpers/users.js';

/** Card-less trials, and the operator's view and reset of usage, on each database. */

const ADMIN_TOKEN = 'admin-token-for-the-trial-suite';
registerSecret('the trial suite admin token', ADMIN_TOKEN);
const TRIAL = { days: 7, priceId: 'price_basic', requiresEmail: false };
const LIMITS = { summarize: { free: { limit: 2, per: 'day' as const }, price_basic: { limit: 10, per: 'billing_period' as const } } };

async function post(svc: RunningService, path: string, token: string, body?: unknown) {
  const response = await fetch(`${svc.baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

describe.each(BACKENDS)('trials and usage operations on $name', (backend) => {
  let clock = Date.now();
  const context = useService(backend, {
    config: { trial: TRIAL, usageLimits: LIMITS, priceFeatures: { price_basic: ['summarize'] }, adminToken: ADMIN_TOKEN },
    now: () => clock,
  });

  it('a trial grants its plan once, ends on time, and its token ends with it', async () => {
    const { svc } = context;
    const { token, userId } = await createUser(svc.baseUrl);
    const started = await post(svc, '/v1/trial', token);
    const endsAt = new Date((Math.floor(clock / 1000) + 7 * 86_400) * 1000).toISOString();
    expect(started).toEqual({ status: 201, body: { priceId: 'price_basic', trialEndsAt: endsAt } });
    const answer = await getEntitlement(svc.baseUrl, token);
    expect(answer).toMatchObject({
      premium: true,
      reason: 'free_trial',
      priceId: 'price_basic',
      features: ['summarize'],
      trialEndsAt: endsAt,
    });
    expect(answer.usage.summarize).toMatchObject({ limit: 10, resetsAt: endsAt });
    const claims = await verifyEntitlement(answer.token, { jwksUrl: `${svc.baseUrl}/.well-known/jwks.json`, issuer: TEST_ISSUER });
    expect(claims).toMatchObject({ sub: userId, premium: true, reason: 'free_trial', exp: claims.iat + 3600 });

    expect(await post(svc, '/v1/trial', token)).toMatchObject({ status: 409, body: { error: 'trial_used' } });
    const saved = clock;
    try {
      // A minute before its end, a token lives only that minute.
      clock = Date.parse(endsAt) - 60_000;
      const late = await getEntitlement(svc.baseUrl, token);
      expect((await verifyEntitlement(late.token, { jwksUrl: `${svc.baseUrl}/.well-known/jwks.json`, issuer: TEST_ISSUER })).exp).toBe(
        Date.parse(endsAt) / 1000,
      );
      clock = Date.parse(endsAt);
      expect(await getEntitlement(svc.baseUrl, token)).toMatchObject({ premium: false, reason: 'trial_ended', trialEndsAt: endsAt });
      expect(await post(svc, '/v1/trial', token)).toMatchObject({ status: 409, body: { error: 'trial_used' } });
    } finally {
      clock = saved;
    }
  });

  it('a Stripe subscription takes precedence over the trial', async () => {
    const { svc } = context;
    const { token, userId } = await createUser(svc.baseUrl);
    await post(svc, '/v1/trial', token);
    const spec = { id: newId('sub'), customer: newId('cus'), status: 'canceled', priceId: 'price_pro', productId: 'prod_pro' };
    const t = nowSeconds() - 60;
    await deliverAll(svc.baseUrl, [
      checkoutCompletedEvent({ customer: spec.customer, userId, subscription: spec.id, created: t }),
      subscriptionEvent('created', spec, t),
    ]);
    await svc.settle();
    expect(await getEntitlement(svc.baseUrl, token)).toMatchObject({ premium: false, reason: 'canceled', trialEndsAt: null });
    const other = await createUser(svc.baseUrl);
    const otherSpec = { ...spec, id: newId('sub'), customer: newId('cus'), status: 'active' };
    await deliverAll(svc.baseUrl, [
      checkoutCompletedEvent({ customer: otherSpec.customer, userId: other.userId, subscription: otherSpec.id, created: t }),
      subscriptionEvent('created', otherSpec, t),
    ]);
    await svc.settle();
    expect(await post(svc, '/v1/trial', other.token)).toMatchObject({ status: 409, body: { error: 'already_subscribed' } });
  });

  it('once per verified email: an account that holds an email which had a trial gets none', async () => {
    const { svc } = context;
    const first = await createUser(svc.baseUrl);
    const email = `${newId('buyer').toLowerCase()}@example.com`;
    registerSecret('a trial test email', email);
    await svc.store.db.insertInto('account_emails').values({ email, user_id: first.userId, verified_at: Date.now() }).execute();
    expect((await post(svc, '/v1/trial', first.token)).status).toBe(201);
    // The email now belongs to another account (as a merge moves it): that account had no trial, the email did.
    const second = await createUser(svc.baseUrl);
    await svc.store.db.updateTable('account_emails').set({ user_id: second.userId }).where('email', '=', email).execute();
    expect(await post(svc, '/v1/trial', second.token)).toMatchObject({ status: 409, body: { error: 'trial_used' } });
  });

  it('two starts at once: one trial', async () => {
    const { token } = await createUser(context.svc.baseUrl);
    const answers = await Promise.all(Array.from({ length: 6 }, () => post(context.svc, '/v1/trial', token)));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
  });

  it('the admin API shows a user’s usage and resets it; the history keeps the reset', async () => {
    const { svc } = context;
    const { token, userId } = await createUser(svc.baseUrl);
    await post(svc, '/v1/usage/summarize', token, { amount: 2 });
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const shown = await (await fetch(`${svc.baseUrl}/admin/users/${userId}/usage`, { headers: admin })).json();
    expect(shown).toMatchObject({ userId, usage: { summarize: { used: 2, limit: 2, remaining: 0 } } });
    expect((await (await fetch(`${svc.baseUrl}/admin/users/${userId}`, { headers: admin })).json()).usage.summarize.used).toBe(2);
    const reset = await fetch(`${svc.baseUrl}/admin/users/${userId}/usage/summarize/reset`, { method: 'POST', headers: admin });
    expect(await reset.json()).toMatchObject({ userId, feature: 'summarize', reset: 2, usage: { used: 0, remaining: 2 } });
    const unknown = await fetch(`${svc.baseUrl}/admin/users/${userId}/usage/translate/reset`, { method: 'POST', headers: admin });
    expect(unknown.status).toBe(404);
    expect((await post(svc, '/v1/usage/summarize', token)).body.used).toBe(1);
    const kinds = await svc.store.db
      .selectFrom('usage_events')
      .select(['kind', 'amount'])
      .where('user_id', '=', userId)
      .orderBy('id')
      .execute();
    expect(kinds).toEqual([
      { kind: 'consume', amount: 2 },
      { kind: 'reset', amount: -2 },
      { kind: 'consume', amount: 1 },
    ]);
  });

  it('npm run cli -- usage shows and resets', async () => {
    const { svc, database } = context;
    const { token, userId } = await createUser(svc.baseUrl);
    await post(svc, '/v1/usage/summarize', token, { amount: 2 });
    const dataDir = mkdtempSync(join(tmpdir(), 'cli-usage-'));
    const env = { DATABASE_URL: database.url, DATA_DIR: dataDir, USAGE_LIMITS: JSON.stringify(LIMITS) };
    expect(JSON.parse((await runCli(['usage', userId, '--json'], env)).stdout).usage.summarize).toMatchObject({ used: 2 });
    expect((await runCli(['usage', userId, '--reset', 'summarize'], env)).stdout).toContain('2 use(s) taken back; used now 0');
    expect((await usageOf(svc, token)).used).toBe(0);
    rmSync(dataDir, { recursive: true, force: true });
  });
});

async function usageOf(svc: RunningService, token: string) {
  return (await fetch(`${svc.baseUrl}/v1/usage/summarize`, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<any>;
}
