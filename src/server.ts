import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Config } from './config.js';
import type { Store } from './db/index.js';
import { entitlementRoutes } from './entitlements/index.js';
import { AlertMonitor, adminRoutes, createMetrics, type Metrics, opsRoutes } from './ops/index.js';
import { SyncWorker, type SyncWorkerOptions } from './subscriptions/index.js';
import { AuthUnavailableError, Authenticator, jwtVerifier, userRoutes } from './users/index.js';
import { webhookRoutes } from './webhooks/index.js';

export interface Service {
  app: FastifyInstance;
  /** Absent when this process runs intake only. */
  worker: SyncWorker | undefined;
  /** Absent without ALERT_WEBHOOK_URL. */
  alerts: AlertMonitor | undefined;
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
  | 'alerts'
  | 'jwt'
>;

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
  extra: ServiceOptions['worker'] & { now?: () => number; metrics?: Metrics } = {},
): SyncWorker {
  const { metrics, ...seams } = extra;
  return new SyncWorker({
    store,
    logger,
    onAttempt: metrics
      ? ({ type, outcome, durationMs }) => {
          metrics.processingAttempts.inc({ type, outcome });
          if (outcome === 'failed' || outcome === 'dead') metrics.processingFailures.inc({ type });
          metrics.processingDuration.observe({ type }, durationMs / 1000);
        }
      : undefined,
    retrySchedule: config.retrySchedule,
    retentionDays: config.eventRetentionDays,
    concurrency: config.workerConcurrency,
    leaseMs: config.workerLeaseMs,
    ...extra,
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
  const metrics = createMetrics(store);
  const worker = config.processRole === 'intake' ? undefined : createWorker(config, store, app.log, { ...options.worker, now: options.now, metrics });
  const authenticator = new Authenticator(store.db, config.jwt ? jwtVerifier(config.jwt) : undefined);
  const entitlementOptions = {
    authenticator,
    db: store.db,
    pastDueGraceHours: config.pastDueGraceHours,
    priceFeatures: config.priceFeatures,
    now: options.now,
    onCheck: (result: 'premium' | 'not_premium' | 'unauthorized') => metrics.entitlementChecks.inc({ result }),
  };
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  installJsonHandling(app);

  // A worker-only process serves only health and metrics.
  if (config.processRole !== 'worker') {
    await app.register(async (scope) => {
      await webhookRoutes(scope, { store, metrics, secrets: config.webhookSecrets, onStored: () => worker?.kick() });
    });
    userRoutes(app, store.db);
    entitlementRoutes(app, entitlementOptions);
    if (config.adminToken) adminRoutes(app, { store, adminToken: config.adminToken, entitlements: entitlementOptions, onReplayed: () => worker?.kick() });
  }
  opsRoutes(app, store, metrics);

  const alerts = config.alerts
    ? new AlertMonitor(store, metrics, config.alerts, app.log, worker?.owner ?? `intake:${process.pid}`, config.processRole !== 'worker', options.now)
    : undefined;

  await app.ready();
  try {
    await worker?.start();
  } catch (error) {
    await app.close();
    throw error;
  }
  alerts?.start();
  return {
    app,
    worker,
    alerts,
    async close() {
      await app.close();
      await alerts?.stop();
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
    if (error instanceof AuthUnavailableError) {
      request.log.error({ err: error }, 'sign-in keys unavailable');
      return reply.code(503).send({ error: 'auth_unavailable', message: 'the sign-in provider cannot be reached; try again shortly' });
    }
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
