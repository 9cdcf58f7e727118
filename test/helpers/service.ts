import { Writable } from 'node:stream';
import { afterAll, beforeAll } from 'vitest';
import { DEFAULT_HTTP_TIMEOUTS, generateSigningKey } from '../../src/config/index.js';
import { openStore, type Store, type StoreOptions } from '../../src/db/index.js';
import { buildService, type Service, type ServiceConfig, type ServiceOptions } from '../../src/server.js';
import { BILLING_OFF } from './billing-off.js';
import type { TestDatabase } from './databases.js';
import { capture, registerDatabasePassword, registerSecret } from './log-scan.js';

export const TEST_SECRET = 'whsec_test_secret_for_the_suite_0123456789';
registerSecret('TEST_SECRET', TEST_SECRET);

/** The suite's entitlement-token key; tests that rotate keys pass their own. */
export const TEST_SIGNING_KEY = generateSigningKey();
registerSecret('TEST_SIGNING_KEY', TEST_SIGNING_KEY.d);
export const TEST_ISSUER = 'http://billing.test';

let servicesStarted = 0;

export interface RunningService {
  baseUrl: string;
  service: Service;
  store: Store;
  /** Every log line the service wrote, parsed. */
  logs: Record<string, unknown>[];
  /** Waits until every stored event that is due has been processed. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/** Starts the real service on a loopback port over the given database. */
export async function startService(
  database: TestDatabase,
  options: {
    config?: Partial<ServiceConfig>;
    now?: () => number;
    worker?: ServiceOptions['worker'];
    store?: StoreOptions;
    port?: number;
  } = {},
): Promise<RunningService> {
  const store = await openStore(database.url, options.store);
  const logs: Record<string, unknown>[] = [];
  const captured = capture(`in-process service ${++servicesStarted} (${database.url.split(':')[0]})`, 'log');
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      const text = String(chunk);
      captured.text += text;
      for (const line of text.split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      callback();
    },
  });
  const config: ServiceConfig = {
    webhookSecrets: [TEST_SECRET],
    pastDueGraceHours: 72,
    priceFeatures: {},
    retrySchedule: [60_000],
    logLevel: 'info',
    adminToken: undefined,
    processRole: 'all',
    eventRetentionDays: 30,
    workerConcurrency: 4,
    workerLeaseMs: 60_000,
    alerts: undefined,
    jwt: undefined,
    extensionOrigins: [],
    // Suites other than the rate-limit one make many requests from 127.0.0.1.
    rateLimits: { signupsPerMinute: 100_000, authFailuresPerMinute: 100_000 },
    trustProxy: false,
    httpTimeouts: DEFAULT_HTTP_TIMEOUTS,
    entitlementTokens: { signingKeys: [TEST_SIGNING_KEY], keySource: 'env', issuer: TEST_ISSUER, ttlSeconds: 3600 },
    ...BILLING_OFF,
    ...options.config,
  };
  for (const secret of config.webhookSecrets) registerSecret('a webhook secret of an in-process service', secret);
  registerSecret('the admin token of an in-process service', config.adminToken);
  for (const key of config.entitlementTokens.signingKeys) registerSecret('a signing key of an in-process service', key.d);
  registerSecret('the Stripe key of an in-process service', config.stripeSecretKey);
  registerDatabasePassword('the database URL of an in-process service', database.url);
  const service = await buildService({ store, now: options.now, worker: options.worker, logStream: sink, config });
  await service.app.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  const address = service.app.server.address();
  if (!address || typeof address === 'string') throw new Error('service did not listen on a TCP port');
  return {
    baseUrl: `http://127.0.0.1:${address.port}`,
    service,
    store,
    logs,
    settle: async () => service.worker?.drain(),
    async close() {
      await service.close();
      await store.close().catch(() => {});
    },
  };
}

/**
 * A fresh database of the given backend and the service running on it, for the enclosing
 * `describe`: created before its tests, closed and dropped after them.
 */
export function useService(
  backend: { create(): Promise<TestDatabase> },
  options: Parameters<typeof startService>[1] = {},
): { readonly svc: RunningService; readonly database: TestDatabase } {
  const context = {} as { svc: RunningService; database: TestDatabase };
  beforeAll(async () => {
    context.database = await backend.create();
    context.svc = await startService(context.database, options);
  });
  afterAll(async () => {
    await context.svc?.close();
    await context.database?.drop();
  });
  return context;
}
