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

/** onSend runs for route answers, errors and 404s alike. */
export function securityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(SECURITY_HEADERS);
    return payload;
  });
}
