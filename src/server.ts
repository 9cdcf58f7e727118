import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type Stripe from 'stripe';
import { type BillingConfig, billingRoutes, createStripeClient, startBillingJobs, subscriptionReader } from './billing/index.js';
import type { Config } from './config.js';
import type { Store } from './db/index.js';
import { entitlementRoutes } from './entitlements/index.js';
import { adminRoutes, createMetrics, opsRoutes } from './ops/index.js';
import { SyncWorker, type SyncWorkerOptions } from './subscriptions/index.js';
import { userRoutes } from './users/index.js';
import { webhookRoutes } from './webhooks/index.js';

export interface Service {
  app: FastifyInstance;
  /** Absent when this process runs intake only. */
  worker: SyncWorker | undefined;
  /** Stops the worker and the HTTP server; the store is the caller's to close. */
  close(): Promise<void>;
}

export type ServiceConfig = Pick<
  Config,
  | 'webhookSecrets'
  | 'pastDueGraceHours'
  | 'priceFeatures'
  | 'retrySchedule'
  | 'logLevel'
  | 'adminToken'
  | 'processRole'
  | 'eventRetentionDays'
  | 'workerConcurrency'
  | 'workerLeaseMs'
> &
  BillingConfig;

export interface ServiceOptions {
  config: ServiceConfig;
  store: Store;
  /** Pino options or an instance; defaults to JSON logs at the configured level. */
  logger?: FastifyServerOptions['logger'] | FastifyServerOptions['loggerInstance'];
  now?: () => number;
  /** Test seams of the worker (failure injection, jitter). */
  worker?: Pick<SyncWorkerOptions, 'afterApply' | 'random' | 'pollIntervalMs'>;
}

/** The sync worker for a configuration; `start()` it to run. */
export function createWorker(
  config: ServiceConfig,
  store: Store,
  logger: SyncWorkerOptions['logger'],
  extra: ServiceOptions['worker'] & { now?: () => number; stripe?: Stripe } = {},
): SyncWorker {
  const { stripe = createStripeClient(config), ...seams } = extra;
  return new SyncWorker({
    store,
    logger,
    retrySchedule: config.retrySchedule,
    retentionDays: config.eventRetentionDays,
    concurrency: config.workerConcurrency,
    leaseMs: config.workerLeaseMs,
    readSubscription: config.syncMode === 'refetch' && stripe ? subscriptionReader(stripe) : undefined,
    ...seams,
  });
}

/** Builds the HTTP service, and unless the role is intake only, starts its sync worker (throws WorkerLockError when SQLite's one worker runs elsewhere). */
export async function buildService(options: ServiceOptions): Promise<Service> {
  const { config, store } = options;
  const app = Fastify({
    ...(isLoggerInstance(options.logger)
      ? { loggerInstance: options.logger }
      : {
          logger: options.logger ?? {
            level: config.logLevel,
            redact: ['req.headers.authorization', 'req.headers["stripe-signature"]'],
          },
        }),
    requestIdHeader: 'x-request-id',
    bodyLimit: 64 * 1024,
    // Slow clients must not hold connections open.
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
  });
  const metrics = createMetrics();
  const stripe = createStripeClient(config);
  const worker = config.processRole === 'intake' ? undefined : createWorker(config, store, app.log, { ...options.worker, now: options.now, stripe });

  installJsonHandling(app);

  await app.register(async (scope) => {
    await webhookRoutes(scope, { store, metrics, secrets: config.webhookSecrets, onStored: () => worker?.kick() });
  });
  userRoutes(app, store.db);
  entitlementRoutes(app, {
    db: store.db,
    pastDueGraceHours: config.pastDueGraceHours,
    priceFeatures: config.priceFeatures,
    now: options.now,
  });
  billingRoutes(app, { stripe, store, settings: config, now: options.now });
  opsRoutes(app, store, metrics);
  if (config.adminToken) adminRoutes(app, store, config.adminToken, () => worker?.kick());

  await app.ready();
  try {
    await worker?.start();
  } catch (error) {
    await app.close();
    throw error;
  }
  const jobs = worker ? startBillingJobs({ config, stripe, store, logger: app.log, metrics, onStored: () => worker.kick() }) : undefined;
  return {
    app,
    worker,
    async close() {
      await jobs?.stop();
      await app.close();
      await worker?.stop();
    },
  };
}

function isLoggerInstance(logger: unknown): logger is NonNullable<FastifyServerOptions['loggerInstance']> {
  return typeof logger === 'object' && logger !== null && typeof (logger as { child?: unknown }).child === 'function';
}

/** JSON bodies may be empty (`POST /v1/users` takes none); every error answers with a JSON `error` code. */
function installJsonHandling(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text.trim() === '') return done(null, {});
    parseJson(request, text, done);
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      return reply.code(status).send({ error: 'internal_error', message: 'internal error' });
    }
    const code =
      status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError ? 'invalid_json' : 'bad_request';
    return reply.code(status).send({ error: code, message: error.message });
  });
}
