import type { Server } from 'node:http';
import type { FastifyHttpOptions, FastifyInstance, FastifyReply } from 'fastify';
import type { Config } from '../config.js';
import type { Metrics } from '../ops/index.js';
import { clientErrorHandler } from './client-errors.js';
import { corsForExtensions } from './cors.js';
import { SECURITY_HEADERS, securityHeaders } from './security-headers.js';

/** Node's default, stated: a request whose header block is larger is refused with 431 before routing. */
export const MAX_HEADER_BYTES = 16 * 1024;

export type HttpConfig = Pick<Config, 'trustProxy' | 'httpTimeouts' | 'extensionOrigins'>;

/** Server options that bound what a client can make the server hold: header size, header and request time. */
export function httpServerOptions(config: HttpConfig, metrics: Metrics): FastifyHttpOptions<Server> {
  const { headersMs, requestMs } = config.httpTimeouts;
  return {
    // A hop count trusts that many proxies nearest to the server, whatever their address.
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
    http: {
      maxHeaderSize: MAX_HEADER_BYTES,
      headersTimeout: headersMs,
      requestTimeout: requestMs,
      // Node checks these timeouts only this often (30 s by default).
      connectionsCheckingInterval: Math.min(1000, headersMs),
    },
    requestTimeout: requestMs,
    clientErrorHandler: clientErrorHandler(metrics),
    frameworkErrors: (_error, _request, reply) => badUrl(reply, metrics),
  };
}

/** A URL that cannot be decoded or routed: answered like any other error, without echoing it. No hook runs for it. */
function badUrl(reply: FastifyReply, metrics: Metrics): void {
  metrics.httpResponses.inc({ route: 'none', status: 400 });
  reply.code(400).headers(SECURITY_HEADERS).send({ error: 'bad_url', message: 'the request URL is malformed' });
}

function trustHops(hops: number) {
  return (_address: string, hop: number) => hop < hops;
}

/** Security headers and CORS on every answer; every answer counted, timed and logged in one line. */
export function installHttpSurface(app: FastifyInstance, config: HttpConfig, metrics: Metrics): void {
  securityHeaders(app);
  corsForExtensions(app, config.extensionOrigins);
  app.addHook('onResponse', async (request, reply) => {
    const { method } = request;
    const route = request.routeOptions.url;
    const status = reply.statusCode;
    const durationMs = reply.elapsedTime;
    metrics.httpResponses.inc({ route: route ?? 'none', status });
    metrics.httpDuration.observe({ method, route: route ?? 'unmatched', status_code: String(status) }, durationMs / 1000);
    // The route pattern, not the URL: no ids or query strings in the logs. The line carries reqId.
    request.log.info({ method, route: route ?? null, status, durationMs }, 'request');
  });
}
