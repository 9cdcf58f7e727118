import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/databases.js';
import { deliver, newId, nowSeconds, subscriptionEvent } from '../helpers/events.js';
import { rawRequest } from '../helpers/raw-http.js';
import { useService } from '../helpers/service.js';

const SLOW_CONNECTIONS = 300;

/** A connection that misbehaves on purpose; `closedByServer` resolves when the service hangs up. */
interface SlowClient {
  socket: Socket;
  closedByServer: Promise<number>;
  received: () => string;
}

function openSlowClient(port: number, behave: (socket: Socket) => void): SlowClient {
  const socket = connect({ host: '127.0.0.1', port });
  const opened = Date.now();
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => {});
  socket.on('connect', () => behave(socket));
  const closedByServer = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - opened)));
  return { socket, closedByServer, received: () => received };
}

/** Request headers sent one byte at a time, never finished. */
function trickleHeaders(socket: Socket): void {
  const text = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'x'.repeat(1000)}`;
  let sent = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || sent >= text.length) return clearInterval(timer);
    socket.write(text[sent++]!);
  }, 50);
  socket.on('close', () => clearInterval(timer));
}

/** Complete headers announcing a body that never comes. */
function stallBody(socket: Socket): void {
  socket.write('POST /v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
}

/** Slow and greedy clients cannot hold the service: timeouts, and limits checked before reading. */
describe.each(BACKENDS)('resource abuse on $name', (backend) => {
  const context = useService(backend, { config: { httpTimeouts: { headersMs: 1000, requestMs: 2000 } } });
  const port = () => Number(new URL(context.svc.baseUrl).port);

  it(`${SLOW_CONNECTIONS} slow connections: a signed webhook still gets 200 at once, and the service hangs up on all of them`, async () => {
    const behaviours = [trickleHeaders, stallBody, () => {}];
    const clients = Array.from({ length: SLOW_CONNECTIONS }, (_, i) => openSlowClient(port(), behaviours[i % behaviours.length]!));
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const event = subscriptionEvent('updated', { id: newId('sub'), customer: newId('cus'), status: 'active' }, nowSeconds());
      const started = Date.now();
      expect((await deliver(context.svc.baseUrl, event)).status).toBe(200);
      expect(Date.now() - started).toBeLessThan(2000);

      // Headers within 1 s and the whole request within 2 s, checked every second.
      const closedAfter = await Promise.race([
        Promise.all(clients.map((c) => c.closedByServer)),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('slow connections still open after 5 s')), 5000)),
      ]);
      expect(Math.max(...closedAfter)).toBeLessThan(5000);
      const answered = clients.filter((c) => c.received().startsWith('HTTP/1.1 408'));
      expect(answered.length).toBeGreaterThan(0);
      for (const client of answered) expect(client.received()).toMatch(/\r\n\r\n\{"error":"request_timeout"/);
    } finally {
      for (const client of clients) client.socket.destroy();
    }
  });

  it.each([
    ['/webhooks/stripe', 10 * 1024 * 1024],
    ['/v1/users', 1024 * 1024],
  ])('%s: a Content-Length over the limit with a body that never finishes gets 413 at once', async (path, length) => {
    const started = Date.now();
    const answer = await rawRequest(`${context.svc.baseUrl}${path}`, {
      headers: { 'content-type': 'application/json', 'content-length': String(length) },
      body: '{"id":',
      finish: false,
      timeoutMs: 1500,
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error).toBe('payload_too_large');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('a chunked body that grows past the limit is cut off at the limit, not read to its end', async () => {
    const started = Date.now();
    const answer = await rawRequest(`${context.svc.baseUrl}/v1/users`, {
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      body: `"${'x'.repeat(100 * 1024)}`,
      finish: false,
      timeoutMs: 1500,
    });
    expect(answer.status).toBe(413);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it.each([
    ['nested 30 000 deep', `${'['.repeat(30_000)}${']'.repeat(30_000)}`],
    ['with 5 000 keys', `{${Array.from({ length: 5000 }, (_, i) => `"k${i}":${i}`).join(',')}}`],
    ['with __proto__ keys all the way down', `${'{"__proto__":'.repeat(4000)}1${'}'.repeat(4000)}`],
  ])('a JSON body %s (under 64 KiB) is answered at once, without a 5xx', async (_name, body) => {
    expect(body.length).toBeLessThan(64 * 1024);
    const started = Date.now();
    const response = await fetch(`${context.svc.baseUrl}/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBeLessThan(500);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
