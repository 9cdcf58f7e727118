import type { Server } from 'node:http';
import { type FastifyHttpOptions, type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { Config } from '../config/index.js';
import { clientErrorHandler } from './client-errors.js';
import { corsForExtensions } from './cors.js';
import type { HttpMetrics } from './metrics.js';
import { SECURITY_HEADERS, securityHeaders } from './security-headers.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** What a route adds to its request's one log line (see OneLinePerRequest): a message instead of `request`, and facts. */
    logLine: { msg: string; facts: Record<string, unknown> } | null;
  }
}

/** Node's default, stated: a request whose header block is larger is refused with 431 before routing. */
const MAX_HEADER_BYTES = 16 * 1024;

export type HttpConfig = Pick<Config, 'trustProxy' | 'httpTimeouts' | 'extensionOrigins'>;

/** Server options that bound what a client can make the server hold: header size, header and request time. */
export function httpServerOptions(config: HttpConfig, metrics: HttpMetrics): FastifyHttpOptions<Server> {
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
function badUrl(reply: FastifyReply, metrics: HttpMetrics): void {
  metrics.httpResponses.inc({ route: 'none', status: 400 });
  reply.code(400).headers(SECURITY_HEADERS).send({ error: 'bad_url', message: 'the request URL is malformed' });
}

function trustHops(hops: number) {
  return (_address: string, hop: number) => hop < hops;
}

/** Security headers and CORS on every answer; every answer counted and timed, in one hook. */
export function installHttpSurface(app: FastifyInstance, config: HttpConfig, metrics: HttpMetrics): void {
  app.decorateRequest('logLine', null);
  securityHeaders(app);
  corsForExtensions(app, config.extensionOrigins);
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url;
    metrics.httpResponses.inc({ route: route ?? 'none', status: reply.statusCode });
    metrics.httpDuration.observe(
      { method: request.method, route: route ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });
}

/**
 * One log line per answer (with its reqId) instead of Fastify's two, "incoming request" and
 * "request completed": on a short request such as an entitlement check they are a visible share
 * of the CPU. The route pattern is logged, not the URL, so no ids or query strings. A route can
 * name the line and add facts to it (`request.logLine`): intake logs each delivery this way.
 */
export class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: request.method,
      route: request.routeOptions.url ?? null,
      status: reply.statusCode,
      durationMs: reply.elapsedTime,
      ...request.logLine?.facts,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, request.logLine?.msg ?? 'request');
  }
}
