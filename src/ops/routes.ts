import type { FastifyInstance } from 'fastify';
import type { Store } from '../db/index.js';
import type { Metrics } from './metrics.js';

/** Liveness, readiness and metrics. */
export function opsRoutes(app: FastifyInstance, store: Store, metrics: Metrics): void {
  app.get('/healthz', async () => ({ ok: true }));

  app.get('/readyz', async (request, reply) => {
    try {
      await store.ping();
      return { ok: true, database: store.dialect };
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check: database unreachable');
      return reply.code(503).send({ ok: false, error: 'database_unavailable' });
    }
  });

  app.get('/metrics', async (_request, reply) => {
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
