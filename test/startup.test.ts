import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, generateSigningKey, loadConfig, parseDurationList } from '../src/config/index.js';
import { localModeSecret } from './helpers/log-scan.js';
import { type ProcessRun, runScript, startServiceProcess, stopServiceProcess } from './helpers/processes.js';

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'billing-start-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Runs `tsx src/main.ts` as `npm start` does, with only the given environment, until it exits or prints `until`. */
function runService(env: Record<string, string>, until?: RegExp, args: string[] = []): Promise<ProcessRun> {
  return runScript('src/main.ts', args, { env: { PATH: process.env.PATH ?? '', PORT: '0', ...env }, stopWhen: until, timeoutMs: 20_000 });
}

describe('configuration', () => {
  it.each([
    [{ STRIPE_WEBHOOK_SECRET: 'sk_test_not_a_webhook_secret' }, 'STRIPE_WEBHOOK_SECRET'],
    [{ STRIPE_WEBHOOK_SECRET: 'whsec_goodgoodgood,oops' }, 'STRIPE_WEBHOOK_SECRET'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PAST_DUE_GRACE_HOURS: '-1' }, 'PAST_DUE_GRACE_HOURS'],
    [{ ADMIN_TOKEN: 'short' }, 'ADMIN_TOKEN'],
    [{ STRIPE_SECRET_KEY: 'pk_test_123' }, 'STRIPE_SECRET_KEY'],
    [{ PRICE_FEATURES: '{"price_1": "export"}' }, 'PRICE_FEATURES'],
    [{ RETRY_SCHEDULE: '30 seconds' }, 'RETRY_SCHEDULE'],
    [{ NODE_ENV: 'production' }, 'STRIPE_WEBHOOK_SECRET'],
    [{ EXTENSION_ORIGINS: '*' }, 'EXTENSION_ORIGINS'],
    [{ EXTENSION_ORIGINS: 'chrome-extension://abcdefghijklmnopabcdefghijklmnop/popup.html' }, 'EXTENSION_ORIGINS'],
    [{ RATE_LIMIT_SIGNUPS_PER_MINUTE: '0' }, 'RATE_LIMIT_SIGNUPS_PER_MINUTE'],
    [{ RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: 'lots' }, 'RATE_LIMIT_AUTH_FAILURES_PER_MINUTE'],
    [{ TRUST_PROXY: 'true' }, 'TRUST_PROXY'],
    [{ TRUST_PROXY: '10.0.0.0/8,proxy.internal' }, 'TRUST_PROXY'],
    [{ HEADERS_TIMEOUT: '10' }, 'HEADERS_TIMEOUT'],
    [{ REQUEST_TIMEOUT: '1s,2s' }, 'REQUEST_TIMEOUT'],
    [{ HEADERS_TIMEOUT: '40s' }, 'HEADERS_TIMEOUT'],
    [{ SYNC_MODE: 'sometimes' }, 'SYNC_MODE'],
    [{ SYNC_MODE: 'refetch' }, 'SYNC_MODE'],
    [{ CHECKOUT_SUCCESS_URL: 'https://example.com/thanks' }, 'CHECKOUT_SUCCESS_URL'],
    [{ PRICE_IDS: 'price_1, price two' }, 'PRICE_IDS'],
    [{ RECONCILE_INTERVAL: '10s' }, 'RECONCILE_INTERVAL'],
    [{ STRIPE_API_URL: 'ftp://127.0.0.1' }, 'STRIPE_API_URL'],
    [{ SMTP_URL: 'https://user:secretpassword@mail.example.com' }, 'SMTP_URL'],
    [{ SMTP_URL: 'smtp://user:secretpassword@mail.example.com:587' }, 'EMAIL_FROM'],
    [{ SMTP_URL: 'smtp://127.0.0.1:2525', EMAIL_FROM: 'not an address' }, 'EMAIL_FROM'],
  ])('%o is refused, naming %s, without echoing the value', (env, variable) => {
    const dataDir = tempDir();
    let error: unknown;
    try {
      loadConfig({ DATA_DIR: dataDir, ...env });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain(variable);
    for (const value of Object.values(env)) if (value.length > 12) expect(message).not.toContain(value);
  });

  it('defaults: local mode, SQLite under the data dir, 127.0.0.1:3000, 72 h grace', () => {
    const dataDir = tempDir();
    const config = loadConfig({ DATA_DIR: dataDir });
    expect(config).toMatchObject({
      production: false,
      databaseUrl: `sqlite:${join(dataDir, 'billing.sqlite')}`,
      host: '127.0.0.1',
      port: 3000,
      pastDueGraceHours: 72,
      webhookSecretSource: 'generated',
      retrySchedule: [30_000, 120_000, 600_000, 3_600_000, 21_600_000, 86_400_000],
      extensionOrigins: [],
      rateLimits: { signupsPerMinute: 30, authFailuresPerMinute: 60 },
      trustProxy: false,
      httpTimeouts: { headersMs: 10_000, requestMs: 30_000 },
    });
    // Generated once, kept (0600) and reused.
    const file = join(dataDir, 'webhook-secret');
    expect(readFileSync(file, 'utf8').trim()).toBe(config.webhookSecrets[0]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = loadConfig({ DATA_DIR: dataDir });
    expect(again.webhookSecrets).toEqual(config.webhookSecrets);
    expect(again.webhookSecretSource).toBe('stored');
  });

  it('billing defaults: payload sync without a key, refetch with one, redirects to this service', () => {
    const withoutKey = loadConfig({ DATA_DIR: tempDir(), PORT: '4000' });
    expect(withoutKey).toMatchObject({
      syncMode: 'payload',
      priceIds: [],
      defaultPriceId: undefined,
      checkoutSuccessUrl: 'http://127.0.0.1:4000/billing/success?session_id={CHECKOUT_SESSION_ID}',
      checkoutCancelUrl: 'http://127.0.0.1:4000/billing/cancel',
      portalReturnUrl: 'http://127.0.0.1:4000/billing/done',
      reconcileIntervalMs: undefined,
      stripeMaxNetworkRetries: 2,
      stripeTimeoutMs: 10_000,
    });
    const withKey = loadConfig({
      DATA_DIR: tempDir(),
      STRIPE_SECRET_KEY: 'sk_test_123',
      PRICE_IDS: 'price_a, price_b',
      PUBLIC_URL: 'https://billing.example.com/',
      RECONCILE_INTERVAL: '6h',
    });
    expect(withKey).toMatchObject({
      syncMode: 'refetch',
      priceIds: ['price_a', 'price_b'],
      defaultPriceId: 'price_a',
      checkoutCancelUrl: 'https://billing.example.com/billing/cancel',
      reconcileIntervalMs: 6 * 3_600_000,
    });
    expect(loadConfig({ DATA_DIR: tempDir(), DEFAULT_PRICE_ID: 'price_c', PRICE_IDS: 'price_a' })).toMatchObject({
      priceIds: ['price_a', 'price_c'],
      defaultPriceId: 'price_c',
    });
  });

  it('several comma-separated secrets are all accepted', () => {
    const config = loadConfig({
      STRIPE_WEBHOOK_SECRET: 'whsec_newnewnewnew, whsec_oldoldoldold',
      NODE_ENV: 'production',
      ENTITLEMENT_SIGNING_KEYS: JSON.stringify(generateSigningKey()),
    });
    expect(config.webhookSecrets).toEqual(['whsec_newnewnewnew', 'whsec_oldoldoldold']);
  });

  it('reads the browser, rate-limit, proxy and timeout settings', () => {
    const config = loadConfig({
      DATA_DIR: tempDir(),
      EXTENSION_ORIGINS: 'chrome-extension://abcdefghijklmnopabcdefghijklmnop, chrome-extension://ponmlkjihgfedcbaponmlkjihgfedcba',
      RATE_LIMIT_SIGNUPS_PER_MINUTE: '100',
      RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '200',
      TRUST_PROXY: '10.0.0.0/8, 192.168.1.7, loopback, ::1',
      HEADERS_TIMEOUT: '5s',
      REQUEST_TIMEOUT: '1m',
    });
    expect(config).toMatchObject({
      extensionOrigins: ['chrome-extension://abcdefghijklmnopabcdefghijklmnop', 'chrome-extension://ponmlkjihgfedcbaponmlkjihgfedcba'],
      rateLimits: { signupsPerMinute: 100, authFailuresPerMinute: 200 },
      trustProxy: ['10.0.0.0/8', '192.168.1.7', 'loopback', '::1'],
      httpTimeouts: { headersMs: 5000, requestMs: 60_000 },
    });
    expect(loadConfig({ DATA_DIR: tempDir(), TRUST_PROXY: '2' }).trustProxy).toBe(2);
  });

  it('parses retry schedules', () => {
    expect(parseDurationList('30s,2m,1h,1d,500ms')).toEqual([30_000, 120_000, 3_600_000, 86_400_000, 500]);
    expect(parseDurationList('30')).toBeUndefined();
  });

  it.each([
    [{ WORKER_BATCH_SIZE: '0' }, 'WORKER_BATCH_SIZE: must be a whole number from 1 to 1000'],
    [{ WORKER_BATCH_SIZE: '1001' }, 'WORKER_BATCH_SIZE: must be a whole number from 1 to 1000'],
    [{ WORKER_EVENTS_PER_TRANSACTION: '2.5' }, 'WORKER_EVENTS_PER_TRANSACTION: must be a whole number from 1 to 1000'],
    [{ WORKER_EVENTS_PER_TRANSACTION: 'all' }, 'WORKER_EVENTS_PER_TRANSACTION: must be a whole number from 1 to 1000'],
    [{ WORKER_GROUP_BUDGET_MS: '16ms' }, 'WORKER_GROUP_BUDGET_MS: must be a whole number of milliseconds from 0 to 1000'],
    [{ WORKER_GROUP_BUDGET_MS: '-1' }, 'WORKER_GROUP_BUDGET_MS: must be a whole number of milliseconds from 0 to 1000'],
  ])('worker sizes: %o is refused: %s', (env, problem) => {
    expect(() => loadConfig({ DATA_DIR: tempDir(), ...env })).toThrow(new ConfigError([problem]));
  });

  it('worker sizes: unset, the worker keeps its own defaults; set, they are read', () => {
    expect(loadConfig({ DATA_DIR: tempDir() })).toMatchObject({
      workerBatchSize: undefined,
      workerEventsPerTransaction: undefined,
      workerGroupBudgetMs: undefined,
    });
    const config = loadConfig({
      DATA_DIR: tempDir(),
      WORKER_BATCH_SIZE: '200',
      WORKER_EVENTS_PER_TRANSACTION: ' 50 ',
      WORKER_GROUP_BUDGET_MS: '0',
    });
    expect(config).toMatchObject({ workerBatchSize: 200, workerEventsPerTransaction: 50, workerGroupBudgetMs: 0 });
  });
});

describe('starting the service', () => {
  it('with no configuration: local mode, prints the generated secret, serves, stops on SIGTERM', async () => {
    const dataDir = tempDir();
    const run = await runService({ DATA_DIR: dataDir }, /billing service ready/);
    expect(run.output).toMatch(/Local mode/);
    const secret = readFileSync(join(dataDir, 'webhook-secret'), 'utf8').trim();
    expect(run.output).toContain(secret);
    // The secrets scan knows this printout, the one place the generated secret may appear.
    expect(localModeSecret(run.stderr)).toBe(secret);
    expect(run.output).toMatch(/"msg":"shutting down"/);
    expect(run.code).toBe(0);
  });

  it('on SQLite a second worker process refuses to run; an intake-only one runs beside it', async () => {
    const dataDir = tempDir();
    const env = { DATA_DIR: dataDir };
    const first = await startServiceProcess(env);
    try {
      await first.waitFor(/billing service ready/, 'the first service');
      const second = await runService({ ...env, PROCESS_ROLE: 'worker' });
      expect(second.code).toBe(1);
      expect(second.output).toMatch(/Cannot run the sync worker: another process .* SQLite supports one worker process/);
      const intakeOnly = await runService(env, /billing service ready/, ['--no-worker']);
      expect(intakeOnly.output).toMatch(/"role":"intake"/);
      expect(intakeOnly.code).toBe(0);
    } finally {
      await stopServiceProcess(first);
    }
  });

  it('refuses to start in production without a webhook secret, naming the variable', async () => {
    const run = await runService({ NODE_ENV: 'production', DATA_DIR: tempDir() });
    expect(run.code).toBe(1);
    expect(run.output).toContain('STRIPE_WEBHOOK_SECRET');
  });

  it('says plainly when the database is unreachable, without the password', async () => {
    const run = await runService({
      STRIPE_WEBHOOK_SECRET: 'whsec_abcdefghijklmnop',
      DATABASE_URL: 'postgres://postgres:hunter2secret@127.0.0.1:1/test',
    });
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/DATABASE_URL: cannot open postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/test/);
    expect(run.output).not.toContain('hunter2secret');
  });
});
