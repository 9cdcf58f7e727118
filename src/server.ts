import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import type { Store } from './db/index.js';
import { entitlementRoutes } from './entitlements/index.js';
import { httpServerOptions, installHttpSurface } from './http/index.js';
import { createMetrics, opsRoutes } from './ops/index.js';
import { SyncWorker } from './subscriptions/index.js';
import { userRoutes } from './users/index.js';
import { rateLimitHooks } from './users/rate-limit.js';
import { expectedLivemode, webhookRoutes } from './webhooks/index.js';

export interface Service {
  app: FastifyInstance;
  worker: SyncWorker;
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
  | 'stripeSecretKey'
  | 'extensionOrigins'
  | 'rateLimits'
  | 'trustProxy'
  | 'httpTimeouts'
>;

export interface ServiceOptions {
  config: ServiceConfig;
  store: Store;
  /** Where the JSON logs go; stdout by default. */
  logStream?: NodeJS.WritableStream;
  now?: () => number;
}

/** Builds the HTTP service and its sync worker on an open store. */
export async function buildService(options: ServiceOptions): Promise<Service> {
  const { config, store } = options;
  const metrics = createMetrics();
  const app = Fastify({
    ...httpServerOptions(config, metrics),
    logger: {
      level: config.logLevel,
      redact: ['req.headers.authorization', 'req.headers["stripe-signature"]'],
      ...(options.logStream ? { stream: options.logStream } : {}),
    },
    requestIdHeader: 'x-request-id',
    bodyLimit: 64 * 1024,
    // Idle connections are closed after this; slow ones by the header and request timeouts.
    connectionTimeout: 60_000,
  });
  const worker = new SyncWorker({ store, logger: app.log, retrySchedule: config.retrySchedule, now: options.now });

  installJsonHandling(app);
  installHttpSurface(app, config, metrics);
  rateLimitHooks(app, config.rateLimits);

  await app.register(async (scope) => {
    await webhookRoutes(scope, {
      store,
      metrics,
      secrets: config.webhookSecrets,
      expectedLivemode: expectedLivemode(config.stripeSecretKey),
      onStored: () => worker.kick(),
    });
  });
  userRoutes(app, store.db);
  entitlementRoutes(app, {
    db: store.db,
    pastDueGraceHours: config.pastDueGraceHours,
    priceFeatures: config.priceFeatures,
    now: options.now,
  });
  opsRoutes(app, store, metrics);

  await app.ready();
  worker.start();
  return {
    app,
    worker,
    async close() {
      await app.close();
      await worker.stop();
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
