import type { FastifyInstance } from 'fastify';

/** Only the extension's API is meant for browsers; the webhook and ops routes never answer CORS. */
const BROWSER_PREFIX = '/v1/';

/**
 * CORS for the configured extension origins only. Any other origin gets no Access-Control-*
 * header, so the browser withholds the answer from its page; its preflight is refused with 403.
 */
export function corsForExtensions(app: FastifyInstance, origins: readonly string[]): void {
  const allowed = new Set(origins);
  const isAllowed = (origin: string | undefined): origin is string => origin !== undefined && allowed.has(origin);

  app.addHook('onRequest', (request, reply, done) => {
    if (request.url.startsWith(BROWSER_PREFIX)) {
      reply.header('vary', 'Origin');
      if (isAllowed(request.headers.origin)) {
        reply.header('access-control-allow-origin', request.headers.origin);
        // So that the extension can honour a 429.
        reply.header('access-control-expose-headers', 'Retry-After');
      }
    }
    done();
  });

  app.options(`${BROWSER_PREFIX}*`, async (request, reply) => {
    if (!isAllowed(request.headers.origin)) {
      return reply.code(403).send({ error: 'origin_not_allowed', message: 'this origin may not call the API from a browser' });
    }
    return reply
      .code(204)
      .header('access-control-allow-methods', 'GET, POST')
      .header('access-control-allow-headers', 'Authorization, Content-Type')
      .header('access-control-max-age', '600')
      .send();
  });
}
