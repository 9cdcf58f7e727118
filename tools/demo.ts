import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEMO_RETRY_SCHEDULE, ServiceLog, temporaryFailure } from './demo-retry.js';
import { freePort } from './free-port.js';
import { type Inbox, startInbox } from './inbox.js';
import { StripeStandIn } from './stripe-stand-in/server.js';
import { type PortalAction, payCheckout, usePortal } from './stripe-stand-in/user.js';

/**
 * `npm run demo`: the Stripe stand-in and the real service (`src/main.ts`, SQLite in a temp dir) on
 * local ports, with a local SMTP server as the service's SMTP_URL, and the story played through
 * them: sign-up, Checkout, the redirect, upgrade, a failed renewal and its retry, the purchase
 * restored on a second device by an emailed code, a processing failure of ours and its retry
 * (tools/demo-retry.ts), cancellation. Prints each step with the
 * entitlement after it; exits 0 only if every step came out as expected.
 */
export const WEBHOOK_SECRET = 'whsec_demo_secret_0123456789abcdef';
export const STRIPE_SECRET_KEY = 'sk_test_demo_stand_in';
type Entitlement = Record<string, unknown>;
/** What the buyer types on the hosted Checkout page; the second device restores the purchase with it. */
const BUYER_EMAIL = 'buyer@demo.example';

/** Where the service's own output goes: this terminal, unless a test captures it. */
export interface ServiceOutput {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

class StepFailed extends Error {}

/** Asks the stand-in to play Stripe's part (a failed or retried payment); throws unless it did. */
async function standInAction(url: string): Promise<void> {
  const response = await fetch(url, { method: 'POST' });
  if (!response.ok) throw new Error(`the stand-in answered ${response.status} to ${new URL(url).pathname}`);
}

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function startService(port: number, standInUrl: string, dir: string, smtpUrl: string, output: ServiceOutput) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      DATABASE_URL: `sqlite:${join(dir, 'billing.sqlite')}`,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_SECRET_KEY,
      STRIPE_API_URL: standInUrl,
      PRICE_IDS: 'price_basic,price_pro',
      DEFAULT_PRICE_ID: 'price_basic',
      LOG_LEVEL: 'warn',
      RETRY_SCHEDULE: DEMO_RETRY_SCHEDULE,
      SMTP_URL: smtpUrl,
      EMAIL_FROM: 'Demo extension <restore@demo.example>',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Piped, not inherited, so that a test can capture it; the terminal stays open after it.
  child.stdout.pipe(output.stdout, { end: false });
  child.stderr.pipe(output.stderr, { end: false });
  return child;
}

/** An address as the demo prints it: its first letter and its domain, never the whole. */
function masked(email: string): string {
  return `${email.charAt(0)}…@${email.split('@')[1] ?? ''}`;
}

/** The second device: a new install asks for a code for the buyer's address, reads it from the message, verifies it. */
async function restoreByEmail(
  call: (method: string, path: string, token: string, body?: unknown) => Promise<{ status: number; body: Record<string, any> }>,
  inbox: Inbox,
  token: string,
  email: string,
  accountId: string,
): Promise<string> {
  const before = inbox.countTo(email);
  const asked = await call('POST', '/v1/account/email', token, { email });
  if (asked.status !== 202) throw new Error(`POST /v1/account/email: expected 202, got ${asked.status} ${JSON.stringify(asked.body)}`);
  const code = await inbox.waitForCode(email, { after: before });
  const verified = await call('POST', '/v1/account/verify', token, { email, code });
  if (verified.status !== 200)
    throw new Error(`POST /v1/account/verify: expected 200, got ${verified.status} ${JSON.stringify(verified.body)}`);
  if (verified.body.userId !== accountId) throw new Error(`verified into ${verified.body.userId}, not the buyer's account ${accountId}`);
  return `POST /v1/account/email ${asked.status} ${JSON.stringify(asked.body)}; a code arrived for ${masked(email)}; POST /v1/account/verify ${verified.status}: linked to ${verified.body.userId}`;
}

/** Plays the story against the given stand-in (a test may make it fail); returns the exit code. */
export async function playDemo(
  standIn = new StripeStandIn(),
  print: (line: string) => void = console.log,
  serviceOutput: ServiceOutput = process,
): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'billing-demo-'));
  const standInUrl = await standIn.listen();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  standIn.setWebhookTarget({ url: `${base}/webhooks/stripe`, secret: WEBHOOK_SECRET });
  const inbox = await startInbox();
  const service = startService(port, standInUrl, dir, inbox.url, serviceOutput);
  const serviceLog = new ServiceLog(service.stdout);
  let failed = false;
  try {
    print(`Stripe stand-in on ${standInUrl}, service on ${base} (SYNC_MODE=refetch, the default with a key), SMTP on ${inbox.url}\n`);
    await until(
      () =>
        fetch(`${base}/readyz`)
          .then((r) => r.ok)
          .catch(() => false),
      Boolean,
      30_000,
    );

    const call = async (method: string, path: string, token: string, body?: unknown) => {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: response.status, body: (await response.json()) as Record<string, any> };
    };
    /** The answer, when it has the status a step expects; otherwise the step fails with what came instead. */
    const expectStatus = <T extends { status: number; body: Record<string, any> }>(answer: T, status: number, what: string): T => {
      if (answer.status !== status) throw new Error(`${what}: expected ${status}, got ${answer.status} ${JSON.stringify(answer.body)}`);
      return answer;
    };
    const signUp = async () => {
      const response = await fetch(`${base}/v1/users`, { method: 'POST' });
      return expectStatus({ status: response.status, body: (await response.json()) as Record<string, any> }, 201, 'POST /v1/users')
        .body as { userId: string; token: string };
    };
    const user = await signUp();
    /** The install on the second device, which restores the purchase by email. */
    const second = await signUp();
    let shownToken = user.token;
    const entitlement = async () => (await call('GET', '/v1/entitlements', shownToken)).body as Entitlement;
    /** Runs one step (its action throws when its own answer is wrong), then waits for the expected entitlement (of `token`'s install). */
    const step = async (name: string, expected: Entitlement, act: () => Promise<unknown>, token = user.token) => {
      shownToken = token;
      let note: string | undefined;
      let acted = true;
      try {
        const said = await act();
        note = typeof said === 'string' ? said : undefined;
      } catch (error) {
        acted = false;
        note = `error: ${error instanceof Error ? error.message : String(error)}`;
      }
      const matches = (e: Entitlement) => Object.entries(expected).every(([k, v]) => e[k] === v);
      // A step whose own action failed has nothing to wait for.
      const answer = acted ? await until(entitlement, matches) : await entitlement();
      const ok = acted && matches(answer);
      const shown = ['premium', 'reason', 'status', 'priceId', 'cancelAtPeriodEnd', 'graceUntil']
        .map((k) => `${k}=${JSON.stringify(answer[k])}`)
        .join(' ');
      print(
        `${ok ? 'PASS' : 'FAIL'}  ${name}${note ? `\n      ${note}` : ''}\n      entitlement: ${shown}${ok ? '' : `\n      expected: ${JSON.stringify(expected)}`}`,
      );
      // Every later step builds on this one: the story stops here.
      if (!ok) throw new StepFailed(name);
    };

    let checkoutUrl = '';
    let subscriptionId = '';
    let portalUrl = '';
    const portal = (action: PortalAction) => usePortal(portalUrl, subscriptionId, action);

    await step('sign-up: a new user of the extension', { premium: false, reason: 'no_subscription' }, async () => `user ${user.userId}`);
    await step('checkout: POST /v1/billing/checkout', { premium: false }, async () => {
      const answer = expectStatus(await call('POST', '/v1/billing/checkout', user.token, {}), 200, 'POST /v1/billing/checkout');
      if (typeof answer.body.url !== 'string' || !answer.body.url.startsWith(standInUrl))
        throw new Error(`no Checkout URL of the stand-in in ${JSON.stringify(answer.body)}`);
      checkoutUrl = answer.body.url;
      return `${answer.status} ${JSON.stringify(answer.body)}`;
    });
    await step(
      'pay on the hosted Checkout page (the buyer types their email); the browser lands on /billing/success (premium before any webhook)',
      { premium: true, status: 'active', priceId: 'price_basic' },
      async () => {
        // Webhooks held back until the page is shown: the redirect alone makes the user premium.
        const held = standIn.state.events.length;
        standIn.webhooks.enabled = false;
        const success = await fetch(await payCheckout(checkoutUrl, BUYER_EMAIL));
        standIn.webhooks.enabled = true;
        const title = /<h1 id="title">([^<]*)/.exec(await success.text())?.[1];
        if (success.status !== 200 || (await entitlement()).premium !== true)
          throw new Error(`success page ${success.status} "${title}" and not premium`);
        subscriptionId = standIn.state.checkoutSession(checkoutUrl.split('/').at(-1)!).subscription;
        for (const event of standIn.state.events.slice(held)) standIn.webhooks.send(event);
        await standIn.webhooks.flush();
        return `${success.status} "${title}"; premium at once; then the held webhooks arrive`;
      },
    );
    await step('a second checkout is refused (409, use the portal)', { premium: true, status: 'active' }, async () => {
      const answer = expectStatus(
        await call('POST', '/v1/billing/checkout', user.token, { priceId: 'price_pro' }),
        409,
        'a second POST /v1/billing/checkout',
      );
      return `${answer.status} ${JSON.stringify(answer.body)}`;
    });
    await step('upgrade to price_pro in the Customer Portal', { premium: true, priceId: 'price_pro' }, async () => {
      portalUrl = expectStatus(await call('POST', '/v1/billing/portal', user.token), 200, 'POST /v1/billing/portal').body.url;
      await portal({ switchTo: 'price_pro' });
      return `portal ${portalUrl}`;
    });
    await step(
      'a renewal payment fails: past_due, still premium during the grace period',
      { premium: true, status: 'past_due', reason: 'past_due_in_grace' },
      async () => {
        await standInAction(`${standInUrl}/_stand-in/subscriptions/${subscriptionId}/payment-failed`);
      },
    );
    await step(
      'Stripe retries the payment and it succeeds: active again',
      { premium: true, status: 'active', graceUntil: null },
      async () => {
        await standInAction(`${standInUrl}/_stand-in/subscriptions/${subscriptionId}/payment-succeeded`);
      },
    );
    await step(
      "restore on a second device: a new install asks for a code for the buyer's email, reads it from the message, verifies it; it is premium",
      { premium: true, userId: user.userId, priceId: 'price_pro' },
      // The address typed at Checkout, which Stripe's events (customer_details.email, the customer's email) told the service.
      () => restoreByEmail(call, inbox, second.token, BUYER_EMAIL, user.userId),
      second.token,
    );
    await step(
      "cancel at period end in the portal while Stripe's API fails for a moment: the update is stored and acknowledged, its processing fails and is logged, and the retry after RETRY_SCHEDULE applies it: still premium until the period ends",
      { premium: true, cancelAtPeriodEnd: true },
      () =>
        temporaryFailure({ standIn, subscriptionId, log: serviceLog, databasePath: join(dir, 'billing.sqlite') }, () =>
          portal('cancel-at-period-end'),
        ),
    );
    await step('cancel now in the portal: premium ends', { premium: false, reason: 'canceled', status: 'canceled' }, () =>
      portal('cancel-now'),
    );
    await step(
      'the second device follows the account: premium ended there too',
      { premium: false, reason: 'canceled', userId: user.userId },
      async () => undefined,
      second.token,
    );
  } catch (error) {
    failed = true;
    if (error instanceof StepFailed) print(`\nStopped at the step that went wrong: ${error.message}.`);
    else print(`FAIL  ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    service.kill('SIGTERM');
    // Closed, not just exited: all its output is through.
    await new Promise((resolve) => service.once('close', resolve));
    await standIn.close();
    await inbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
  if (!failed) print('\nEvery step came out right.');
  return failed ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await playDemo();
