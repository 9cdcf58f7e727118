import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StripeStandIn } from './stripe-stand-in/server.js';
import { payCheckout, type PortalAction, usePortal } from './stripe-stand-in/user.js';
import { freePort } from './free-port.js';

/**
 * `npm run demo`: the Stripe stand-in and the real service (`src/main.ts`, SQLite in a temp dir) on
 * local ports, and the story played through them: sign-up, Checkout, the redirect, upgrade,
 * a failed renewal and its retry, cancellation. Prints each step with the entitlement after it;
 * exits 0 only if every step came out as expected.
 */
const WEBHOOK_SECRET = 'whsec_demo_secret_0123456789abcdef';
type Entitlement = Record<string, unknown>;


async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function startService(port: number, standInUrl: string, dir: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      DATABASE_URL: `sqlite:${join(dir, 'billing.sqlite')}`,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_SECRET_KEY: 'sk_test_demo_stand_in',
      STRIPE_API_URL: standInUrl,
      PRICE_IDS: 'price_basic,price_pro',
      DEFAULT_PRICE_ID: 'price_basic',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return child;
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'billing-demo-'));
  const standIn = new StripeStandIn();
  const standInUrl = await standIn.listen();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  standIn.setWebhookTarget({ url: `${base}/webhooks/stripe`, secret: WEBHOOK_SECRET });
  const service = startService(port, standInUrl, dir);
  let failures = 0;
  try {
    console.log(`Stripe stand-in on ${standInUrl}, service on ${base} (SYNC_MODE=refetch, the default with a key)\n`);
    await until(() => fetch(`${base}/readyz`).then((r) => r.ok).catch(() => false), Boolean, 30_000);

    const call = async (method: string, path: string, token: string, body?: unknown) => {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: response.status, body: (await response.json()) as Record<string, any> };
    };
    const user = (await (await fetch(`${base}/v1/users`, { method: 'POST' })).json()) as { userId: string; token: string };
    const entitlement = async () => (await call('GET', '/v1/entitlements', user.token)).body as Entitlement;
    /** Runs one step (its action throws when its own answer is wrong), then waits for the expected entitlement. */
    const step = async (name: string, expected: Entitlement, act: () => Promise<string | void>) => {
      let note: string | void;
      let acted = true;
      try {
        note = await act();
      } catch (error) {
        acted = false;
        note = `error: ${error instanceof Error ? error.message : String(error)}`;
      }
      const answer = await until(entitlement, (e) => Object.entries(expected).every(([k, v]) => e[k] === v));
      const ok = acted && Object.entries(expected).every(([k, v]) => answer[k] === v);
      if (!ok) failures++;
      const shown = ['premium', 'reason', 'status', 'priceId', 'cancelAtPeriodEnd', 'graceUntil'].map((k) => `${k}=${JSON.stringify(answer[k])}`).join(' ');
      console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}${note ? `\n      ${note}` : ''}\n      entitlement: ${shown}${ok ? '' : `\n      expected: ${JSON.stringify(expected)}`}`);
    };

    let checkoutUrl = '';
    let subscriptionId = '';
    let portalUrl = '';
    const portal = (action: PortalAction) => usePortal(portalUrl, subscriptionId, action);

    await step('sign-up: a new user of the extension', { premium: false, reason: 'no_subscription' }, async () => `user ${user.userId}`);
    await step('checkout: POST /v1/billing/checkout', { premium: false }, async () => {
      const answer = await call('POST', '/v1/billing/checkout', user.token, {});
      checkoutUrl = answer.body.url;
      return `${answer.status} ${JSON.stringify(answer.body)}`;
    });
    await step('pay on the hosted Checkout page; the browser lands on /billing/success (premium before any webhook)', { premium: true, status: 'active', priceId: 'price_basic' }, async () => {
      // Webhooks held back until the page is shown: the redirect alone makes the user premium.
      const held = standIn.state.events.length;
      standIn.webhooks.enabled = false;
      const success = await fetch(await payCheckout(checkoutUrl));
      standIn.webhooks.enabled = true;
      const title = /<h1 id="title">([^<]*)/.exec(await success.text())?.[1];
      if (success.status !== 200 || (await entitlement()).premium !== true) throw new Error(`success page ${success.status} "${title}" and not premium`);
      subscriptionId = standIn.state.checkoutSession(checkoutUrl.split('/').at(-1)!).subscription;
      for (const event of standIn.state.events.slice(held)) standIn.webhooks.send(event);
      await standIn.webhooks.flush();
      return `${success.status} "${title}"; premium at once; then the held webhooks arrive`;
    });
    await step('a second checkout is refused (409, use the portal)', { premium: true, status: 'active' }, async () => {
      const answer = await call('POST', '/v1/billing/checkout', user.token, { priceId: 'price_pro' });
      if (answer.status !== 409) throw new Error(`expected 409, got ${answer.status}`);
      return `${answer.status} ${JSON.stringify(answer.body)}`;
    });
    await step('upgrade to price_pro in the Customer Portal', { premium: true, priceId: 'price_pro' }, async () => {
      portalUrl = (await call('POST', '/v1/billing/portal', user.token)).body.url;
      await portal({ switchTo: 'price_pro' });
      return `portal ${portalUrl}`;
    });
    await step('a renewal payment fails: past_due, still premium during the grace period', { premium: true, status: 'past_due', reason: 'past_due_in_grace' }, async () => {
      await fetch(`${standInUrl}/_stand-in/subscriptions/${subscriptionId}/payment-failed`, { method: 'POST' });
    });
    await step('Stripe retries the payment and it succeeds: active again', { premium: true, status: 'active', graceUntil: null }, async () => {
      await fetch(`${standInUrl}/_stand-in/subscriptions/${subscriptionId}/payment-succeeded`, { method: 'POST' });
    });
    await step('cancel at period end in the portal: still premium until the period ends', { premium: true, cancelAtPeriodEnd: true }, () => portal('cancel-at-period-end'));
    await step('cancel now in the portal: premium ends', { premium: false, reason: 'canceled', status: 'canceled' }, () => portal('cancel-now'));
  } catch (error) {
    failures++;
    console.error('FAIL ', error instanceof Error ? error.message : error);
  } finally {
    service.kill('SIGTERM');
    await new Promise((resolve) => service.once('exit', resolve));
    await standIn.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(failures === 0 ? '\nEvery step came out right.' : `\n${failures} step(s) went wrong.`);
  return failures === 0 ? 0 : 1;
}

process.exitCode = await main();
