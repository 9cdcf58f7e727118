import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  newClientIp,
  newEmail,
  post,
  receiveCode,
  requestCode,
  restore,
  useAccountService,
  verifyCode,
  wrongCode,
} from '../accounts/restore-helpers.js';
import { BACKENDS } from '../helpers/databases.js';
import { deliver, newId, nowSeconds, subscriptionEvent } from '../helpers/events.js';
import { rawRequest } from '../helpers/raw-http.js';
import { useService } from '../helpers/service.js';
import { createUser } from '../helpers/users.js';

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
    ['/v1/account/email', 1024 * 1024],
    ['/v1/account/verify', 1024 * 1024],
    ['/v1/account/signout', 1024 * 1024],
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

const ACCOUNT_ROUTES = ['/v1/account/email', '/v1/account/verify', '/v1/account/signout'];
/** Installs and client addresses an attacker can have as many of as they like. */
const SWARM = 40;

/** Restore by email under attack: expensive bodies, a flooded inbox, guesses and replays in bursts from many client addresses. */
describe.each(BACKENDS)('abuse of restore by email on $name', (backend) => {
  const context = useAccountService(backend);

  it.each([
    ['nested 30 000 deep', `{"email":${'['.repeat(30_000)}${']'.repeat(30_000)}}`],
    ['with 5 000 keys', `{${Array.from({ length: 5000 }, (_, i) => `"k${i}":${i}`).join(',')}}`],
    ['with __proto__ keys all the way down', `{"email":${'{"__proto__":'.repeat(4000)}1${'}'.repeat(4000)}}`],
    ['with an address of 60 000 characters', JSON.stringify({ email: `${'a'.repeat(60_000)}@restore.example`, code: '123456' })],
  ])('a JSON body %s is answered at once on every account route, with a 4xx, and sends nothing', async (_name, body) => {
    const user = await createUser(context.svc.baseUrl);
    for (const path of ACCOUNT_ROUTES) {
      const started = Date.now();
      const response = await fetch(`${context.svc.baseUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json', 'x-forwarded-for': newClientIp() },
        body,
      });
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      expect(Date.now() - started).toBeLessThan(1000);
    }
    expect(context.smtp.messages).toHaveLength(0);
  });

  it(`${SWARM} installs on ${SWARM} client addresses ask for one inbox's code at once: 5 messages, the rest 429`, async () => {
    const victim = newEmail(context, 'victim');
    const users = await Promise.all(Array.from({ length: SWARM }, () => createUser(context.svc.baseUrl)));
    const answers = await Promise.all(users.map((user) => requestCode(context, user.token, victim, newClientIp())));
    expect(answers.filter((a) => a.status === 202)).toHaveLength(5);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(SWARM - 5);
    await expect.poll(() => context.smtp.countTo(victim)).toBe(5);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(context.smtp.countTo(victim)).toBe(5);
  });

  it(`${SWARM} wrong guesses at once from ${SWARM} client addresses: only 5 are weighed, then the code is void`, async () => {
    const user = await createUser(context.svc.baseUrl);
    const email = newEmail(context);
    const code = await receiveCode(context, user.token, email, newClientIp());
    const guesses = Array.from({ length: SWARM }, (_, i) => verifyCode(context, user.token, email, wrongCode(code, i + 1), newClientIp()));
    const answers = await Promise.all(guesses);
    expect(answers.map((a) => [a.status, a.body?.error])).toEqual(answers.map(() => [400, 'code_invalid']));
    // The stored count of wrong guesses: concurrent checks that each read the count before another wrote it would all be weighed.
    const row = await context.svc.store.db
      .selectFrom('email_codes')
      .select('failed_attempts')
      .where('user_id', '=', user.userId)
      .executeTakeFirst();
    expect(row?.failed_attempts ?? 5).toBeLessThanOrEqual(5);
    expect((await verifyCode(context, user.token, email, code, newClientIp())).body?.error).toBe('code_invalid');
  });

  it('one code sent 10 times at once by its install opens once: a used code is void, even mid-flight', async () => {
    const user = await createUser(context.svc.baseUrl);
    const email = newEmail(context);
    const code = await receiveCode(context, user.token, email, newClientIp());
    const answers = await Promise.all(Array.from({ length: 10 }, () => verifyCode(context, user.token, email, code, newClientIp())));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 400 && a.body?.error === 'code_invalid')).toHaveLength(9);
  });

  it('one linked token signed out 10 times at once: no 5xx, and it then acts for one of the fresh users it was given', async () => {
    const user = await createUser(context.svc.baseUrl);
    await restore(context, user.token, newEmail(context), newClientIp());
    const outs = await Promise.all(
      Array.from({ length: 10 }, () => post(context, '/v1/account/signout', user.token, undefined, newClientIp())),
    );
    expect(outs.filter((a) => a.status >= 500)).toEqual([]);
    const entitlement = await fetch(`${context.svc.baseUrl}/v1/entitlements`, { headers: { authorization: `Bearer ${user.token}` } });
    expect(entitlement.status).toBe(200);
    const fresh = outs.filter((a) => a.status === 200).map((a) => a.body.userId);
    expect(fresh).toContain(((await entitlement.json()) as { userId: string }).userId);
  });
});
