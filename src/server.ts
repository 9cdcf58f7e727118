import Fastify, { type FastifyInstance } from 'fastify';
import type Stripe from 'stripe';
import { accountRoutes } from './accounts/index.js';
import { type BillingConfig, billingRoutes, createStripeClient, startBillingJobs, subscriptionReader } from './billing/index.js';
import type { Config } from './config/index.js';
import { dashboardRoutes, secureCookies } from './dashboard/index.js';
import type { Store } from './db/index.js';
import { type Decision, EntitlementSigner, entitlementRoutes, trialRoutes } from './entitlements/index.js';
import { httpServerOptions, installHttpSurface, OneLinePerRequest } from './http/index.js';
import { type AdminOptions, AlertMonitor, adminRoutes, createMetrics, type Metrics, opsRoutes } from './ops/index.js';
import { SyncWorker, type SyncWorkerOptions } from './subscriptions/index.js';
import { UsageQuotas, usageRoutes } from './usage/index.js';
import { Authenticator, AuthUnavailableError, jwtVerifier, rateLimitHooks, userRoutes } from './users/index.js';
import { expectedLivemode, IntakeLoad, webhookRoutes } from './webhooks/index.js';

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
  | 'stripeSecretKey'
  | 'extensionOrigins'
  | 'rateLimits'
  | 'trustProxy'
  | 'httpTimeouts'
  | 'entitlementTokens'
> &
  Partial<WorkerTuning> &
  Partial<Pick<Config, 'email' | 'usageLimits' | 'trial' | 'production' | 'host' | 'publicUrl'>> &
  BillingConfig;

/** Sizes and budgets of the worker's groups; unset, the worker's own defaults apply. */
type WorkerTuning = Pick<Config, 'workerBatchSize' | 'workerEventsPerTransaction' | 'workerGroupBudgetMs' | 'workerYieldLimitMs'>;

export interface ServiceOptions {
  config: ServiceConfig;
  store: Store;
  /** Where the JSON logs go; stdout by default. */
  logStream?: NodeJS.WritableStream;
  now?: () => number;
  /** Test seams of the worker (failure injection, jitter). */
  worker?: Pick<SyncWorkerOptions, 'afterApply' | 'random' | 'pollIntervalMs'>;
}

/** How long closing waits for open connections before cutting them. */
const CLOSE_GRACE_MS = 2000;

/** The sync worker for a configuration; `start()` it to run. */
export function createWorker(
  config: Pick<ServiceConfig, 'retrySchedule' | 'eventRetentionDays' | 'workerConcurrency' | 'workerLeaseMs' | 'syncMode'> &
    Partial<WorkerTuning>,
  store: Store,
  logger: SyncWorkerOptions['logger'],
  extra: ServiceOptions['worker'] & { now?: () => number; metrics?: Metrics; stripe?: Stripe; intake?: IntakeLoad } = {},
): SyncWorker {
  const { metrics, stripe, intake, ...seams } = extra;
  const yieldLimitMs = config.workerYieldLimitMs ?? 0;
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
    onGroupFallback: metrics ? ({ reason }) => metrics.groupFallbacks.inc({ reason }) : undefined,
    retrySchedule: config.retrySchedule,
    retentionDays: config.eventRetentionDays,
    concurrency: config.workerConcurrency,
    leaseMs: config.workerLeaseMs,
    batchSize: config.workerBatchSize,
    eventsPerTransaction: config.workerEventsPerTransaction,
    groupBudgetMs: config.workerGroupBudgetMs,
    readSubscription: config.syncMode === 'refetch' && stripe ? subscriptionReader(stripe) : undefined,
    intakePriority:
      intake && yieldLimitMs > 0
        ? {
            busy: () => intake.busy(),
            limitMs: yieldLimitMs,
            onYield: (ms, ended) => {
              metrics?.workerYields.inc({ ended });
              metrics?.workerYieldSeconds.inc(ms / 1000);
            },
          }
        : undefined,
    ...seams,
  });
}

/**
 * Builds the HTTP service, and unless the role is intake only, starts its sync worker (throws WorkerLockError when SQLite's one worker runs
 * elsewhere).
 */
export async function buildService(options: ServiceOptions): Promise<Service> {
  const { config, store } = options;
  const metrics = createMetrics(store);
  const app = Fastify({
    ...httpServerOptions(config, metrics),
    logger: {
      level: config.logLevel,
      redact: ['req.headers.authorization', 'req.headers["stripe-signature"]'],
      ...(options.logStream ? { stream: options.logStream } : {}),
    },
    requestIdHeader: 'x-request-id',
    logController: new OneLinePerRequest(),
    bodyLimit: 64 * 1024,
    // Idle connections are closed after this; slow ones by the header and request timeouts.
    connectionTimeout: 60_000,
  });
  const stripe = createStripeClient(config);
  // Intake in this process: the worker yields to its bursts.
  const intake = config.processRole === 'all' ? new IntakeLoad() : undefined;
  const worker =
    config.processRole === 'intake'
      ? undefined
      : createWorker(config, store, app.log, { ...options.worker, now: options.now, metrics, stripe, intake });
  const authenticator = new Authenticator(store.db, config.jwt ? jwtVerifier(config.jwt) : undefined);
  const quotas = new UsageQuotas(store, config.usageLimits ?? {}, options.now);
  const entitlementOptions = {
    authenticator,
    signer: EntitlementSigner.create(config.entitlementTokens),
    db: store.db,
    pastDueGraceHours: config.pastDueGraceHours,
    priceFeatures: config.priceFeatures,
    trials: config.trial !== undefined,
    now: options.now,
    onCheck: (result: 'premium' | 'not_premium' | 'unauthorized') => metrics.entitlementChecks.inc({ result }),
    answerExtras: async (userId: string, decision: Decision) => ({ usage: await quotas.summary(userId, decision) }),
  };
  installJsonHandling(app);
  installHttpSurface(app, config, metrics);
  rateLimitHooks(app, config.rateLimits);

  // A worker-only process serves only health and metrics.
  if (config.processRole !== 'worker') {
    await app.register(async (scope) => {
      await webhookRoutes(scope, {
        store,
        metrics,
        secrets: config.webhookSecrets,
        expectedLivemode: expectedLivemode(config.stripeSecretKey),
        onStored: () => worker?.kick(),
        load: intake ?? new IntakeLoad(),
      });
    });
    userRoutes(app, store.db);
    accountRoutes(app, {
      store,
      authenticator,
      email: config.email,
      now: options.now,
      onResult: (route, result) => metrics.accountRequests.inc({ route, result }),
    });
    entitlementRoutes(app, entitlementOptions);
    trialRoutes(app, {
      store,
      authenticator,
      trial: config.trial,
      now: options.now,
      onResult: (result) => metrics.trialStarts.inc({ result }),
    });
    usageRoutes(app, {
      quotas,
      // A consumption is not an entitlement check: usage_consumptions_total counts it, not entitlement_checks_total.
      entitlements: { ...entitlementOptions, onCheck: undefined },
      onConsume: (feature, result) => metrics.usageConsumptions.inc({ feature, result }),
    });
    billingRoutes(app, { stripe, store, authenticator, settings: config, now: options.now });
    if (config.adminToken) {
      const admin: AdminOptions = {
        store,
        adminToken: config.adminToken,
        entitlements: entitlementOptions,
        quotas,
        alerts: config.alerts,
        metrics,
        now: options.now ?? Date.now,
        onReplayed: () => worker?.kick(),
      };
      adminRoutes(app, admin);
      dashboardRoutes(app, {
        ...admin,
        publicUrl: config.publicUrl,
        secure: secureCookies(config.production ?? false, config.host ?? '127.0.0.1'),
      });
    }
  }
  opsRoutes(app, store, metrics);

  const alerts = config.alerts
    ? new AlertMonitor(
        store,
        metrics,
        config.alerts,
        app.log,
        worker?.owner ?? `intake:${process.pid}`,
        config.processRole !== 'worker',
        options.now,
      )
    : undefined;

  await app.ready();
  try {
    await worker?.start();
  } catch (error) {
    await app.close();
    throw error;
  }
  alerts?.start();
  const jobs = worker ? startBillingJobs({ config, stripe, store, logger: app.log, metrics, onStored: () => worker.kick() }) : undefined;
  return {
    app,
    worker,
    alerts,
    async close() {
      await jobs?.stop();
      // Requests in flight may finish; connections that send nothing (a browser's preconnected
      // sockets, slow clients) would otherwise hold the close until their timeouts.
      const forceClose = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS);
      await app.close();
      clearTimeout(forceClose);
      await alerts?.stop();
      await worker?.stop();
    },
  };
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

  app.setNotFoundHandler((_request, reply) => {
    // The URL is not echoed back: an answer never repeats what a caller sent.
    reply.code(404).send({ error: 'not_found', message: 'no such route' });
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
    if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) {
      // The parser's message quotes the body; it is not repeated back.
      return reply.code(status).send({ error: 'invalid_json', message: 'request body is not valid JSON' });
    }
    const code = status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : 'bad_request';
    return reply.code(status).send({ error: code, message: error.message });
  });
}
