import type { Socket } from 'node:net';
import type { HttpMetrics } from './metrics.js';
import { SECURITY_HEADERS } from './security-headers.js';

/** Requests Node's HTTP parser refuses before Fastify sees them, keyed by the parser's error code. */
const REFUSALS: Record<string, { status: number; error: string; message: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, error: 'headers_too_large', message: 'request headers are too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, error: 'request_timeout', message: 'the request was not received in time' },
};
const MALFORMED = { status: 400, error: 'bad_request', message: 'malformed HTTP request' };
const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

/**
 * Fastify's `clientErrorHandler`: answers oversized headers, slow clients and garbage with the
 * same JSON error body and security headers as every other answer, counts them, and closes the
 * connection.
 */
export function clientErrorHandler(metrics: HttpMetrics) {
  return (error: NodeJS.ErrnoException, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    // Not writable: already answered (the parser can fail again on bytes still arriving), or gone.
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const refusal = REFUSALS[error.code ?? ''] ?? MALFORMED;
    metrics.httpResponses.inc({ route: 'none', status: refusal.status });
    const body = JSON.stringify({ error: refusal.error, message: refusal.message });
    const headers = {
      ...SECURITY_HEADERS,
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      connection: 'close',
    };
    const head = [
      `HTTP/1.1 ${refusal.status} ${REASONS[refusal.status]}`,
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ];
    // Close only once the answer is flushed, so the client reads it.
    socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
  };
}
