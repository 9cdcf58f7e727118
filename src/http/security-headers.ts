import type { FastifyInstance } from 'fastify';

/**
 * Sent on every answer. The service answers only JSON (and metrics text) and never renders HTML,
 * so nothing it sends may be sniffed, framed, scripted or cached: answers carry tokens and
 * per-user entitlements.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cache-control': 'no-store',
};

/**
 * Set when a request arrives, so they are on route answers, errors and 404s alike (an error
 * answer keeps the headers set before it). A callback hook: this runs on every request, and an
 * async hook costs a promise each time.
 */
export function securityHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    done();
  });
}
