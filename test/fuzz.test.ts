import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceConfig } from '../src/server.js';
import { BACKENDS } from './helpers/databases.js';
import { envelope, newId, nowSeconds, serialize, signatureHeader, subscriptionObject } from './helpers/events.js';
import { registerSecret } from './helpers/log-scan.js';
import { useService } from './helpers/service.js';
import { type SmtpCapture, startSmtpCapture } from './helpers/smtp.js';
import { createUser, type TestUser } from './helpers/users.js';

/**
 * Random headers and bodies against the running service: every answer is a 2xx, or a 4xx with a
 * JSON error; the process stays up; the database holds exactly the events that were answered 2xx.
 */

const RUNS = { webhook: 1000, users: 1000, account: 300 };

const printable = (maxLength: number) => fc.string({ unit: 'grapheme-ascii', maxLength });
const anyText = (maxLength: number) => fc.string({ unit: 'binary', maxLength });
const headerName = fc.stringMatching(/^x-[a-z0-9-]{1,16}$/);
const extraHeaders = fc.dictionary(headerName, printable(40), { maxKeys: 4 });
const contentType = fc.option(
  fc.oneof(
    fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'text/html',
      '',
    ),
    printable(30),
  ),
);

const HANDLED_TYPES = [
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'invoice.paid',
  'customer.updated',
  'checkout.session.completed',
];

/** Something that may or may not be a Stripe event, as the JSON text to send. */
const eventBody = fc.oneof(
  // A well-formed subscription event, pretty or compact.
  {
    weight: 3,
    arbitrary: fc
      .record({
        id: fc.stringMatching(/^evt_[A-Za-z0-9]{1,12}$/),
        status: fc.constantFrom('active', 'past_due', 'canceled', 'zombie'),
        livemode: fc.boolean(),
        pretty: fc.boolean(),
      })
      .map(({ id, status, livemode, pretty }) => {
        const event = {
          ...envelope(
            'customer.subscription.updated',
            subscriptionObject({ id: newId('sub'), customer: newId('cus'), status }),
            nowSeconds(),
            'current',
            id,
          ),
          livemode,
        };
        return pretty ? serialize(event) : JSON.stringify(event);
      }),
  },
  // An envelope around arbitrary content.
  fc
    .record({
      id: fc.oneof(fc.stringMatching(/^evt_[A-Za-z0-9]{1,12}$/), anyText(12), fc.jsonValue({ maxDepth: 1 })),
      object: fc.oneof(fc.constant('event'), fc.jsonValue({ maxDepth: 1 })),
      type: fc.oneof(fc.constantFrom(...HANDLED_TYPES), anyText(20)),
      created: fc.oneof(fc.constant(nowSeconds()), fc.jsonValue({ maxDepth: 1 })),
      data: fc.oneof(fc.record({ object: fc.jsonValue({ maxDepth: 3 }) }), fc.jsonValue({ maxDepth: 2 })),
      livemode: fc.jsonValue({ maxDepth: 0 }),
    })
    .map((event) => serialize(event)),
  fc.json({ maxDepth: 3 }),
  anyText(200),
);

/** What goes in the Stripe-Signature header, given the body. */
const signatureFor = fc.oneof(
  { weight: 4, arbitrary: fc.constant((body: string) => signatureHeader(body)) },
  fc.constant((body: string) => signatureHeader(body, { secret: 'whsec_not_the_configured_secret_0000' })),
  fc.constant((body: string) => signatureHeader(body, { timestamp: nowSeconds() - 3600 })),
  fc.constant((body: string) => signatureHeader(`${body} `)),
  fc.constant(() => undefined),
  printable(80).map((text) => () => text),
  fc.nat(6000).map((padding) => (body: string) => `${signatureHeader(body)},v1=${'a'.repeat(padding)}`),
);

interface Answer {
  status: number;
  contentType: string | null;
  nosniff: string | null;
  json: any;
}

async function send(url: string, init: RequestInit): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    nosniff: response.headers.get('x-content-type-options'),
    json,
  };
}

/** 2xx, or 4xx with a JSON `{error}` body; hardened either way. */
function expectWellFormed(answer: Answer): void {
  expect(answer.nosniff).toBe('nosniff');
  if (answer.status >= 200 && answer.status < 300) return;
  expect(answer.status).toBeGreaterThanOrEqual(400);
  expect(answer.status).toBeLessThan(500);
  expect(answer.contentType).toMatch(/^application\/json/);
  expect(typeof answer.json?.error).toBe('string');
}

/** What may stand for an address: a valid one, an odd one on a known domain, any text, any JSON value. */
const address = fc.oneof(
  { weight: 3, arbitrary: fc.emailAddress() },
  printable(40).map((local) => `${local}@restore.example`),
  anyText(40),
  fc.jsonValue({ maxDepth: 1 }),
);
const sixDigits = fc.oneof({ weight: 3, arbitrary: fc.stringMatching(/^\d{6}$/) }, anyText(8), fc.jsonValue({ maxDepth: 1 }));

/** The JSON text of a body; an address in it is registered: the after-file scan fails if any output holds it. */
function accountJson(body: { email?: unknown }): string {
  if (typeof body.email === 'string' && body.email.includes('@')) {
    registerSecret('a fuzzed email address', body.email);
    registerSecret('a fuzzed email address', body.email.trim().toLowerCase());
  }
  return JSON.stringify(body);
}

/** Mostly the body the route takes (`/email` an address, `/verify` an address and a code, `/signout` none). */
const bodyFor = (path: string) =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: path.endsWith('/email')
        ? fc.record({ email: address }).map(accountJson)
        : path.endsWith('/verify')
          ? fc.record({ email: address, code: sixDigits }).map(accountJson)
          : fc.constantFrom('', '{}'),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({ email: address, code: sixDigits, extra: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] })
        .map(accountJson),
    },
    fc.json({ maxDepth: 2 }),
    anyText(60),
  );

describe.each(BACKENDS)('fuzzing the public routes on $name', (backend) => {
  // The account routes send real messages, to a real SMTP server on loopback.
  const config: Partial<ServiceConfig> = {};
  let smtp: SmtpCapture | undefined;
  beforeAll(async () => {
    smtp = await startSmtpCapture();
    config.email = { smtpUrl: smtp.url, from: 'fuzz@billing.test' };
  });
  afterAll(() => smtp?.close());
  const context = useService(backend, { config: Object.assign(config, { trustProxy: ['127.0.0.1'] }) });

  it(`POST /webhooks/stripe, ${RUNS.webhook} random deliveries: only 2xx-answered events are stored`, async () => {
    const accepted = new Set<string>();
    await fc.assert(
      fc.asyncProperty(eventBody, signatureFor, contentType, extraHeaders, async (body, sign, type, extra) => {
        const headers: Record<string, string> = { ...extra };
        const signature = sign(body);
        if (signature !== undefined) headers['stripe-signature'] = signature;
        if (type !== null) headers['content-type'] = type;
        const answer = await send(`${context.svc.baseUrl}/webhooks/stripe`, { method: 'POST', headers, body });
        expectWellFormed(answer);
        if (answer.status < 300) {
          expect(answer.json?.received).toBe(true);
          accepted.add(JSON.parse(body).id);
        }
      }),
      { numRuns: RUNS.webhook },
    );
    const stored = await context.svc.store.db.selectFrom('webhook_events').select('id').execute();
    expect(accepted.size).toBeGreaterThan(RUNS.webhook / 10);
    expect(new Set(stored.map((row) => row.id))).toEqual(accepted);
    expect((await fetch(`${context.svc.baseUrl}/healthz`)).status).toBe(200);
  });

  it(`user routes, ${RUNS.users} random requests: a token reads only its own user, everything else is a clean 4xx`, async () => {
    const users: TestUser[] = [await createUser(context.svc.baseUrl), await createUser(context.svc.baseUrl)];
    const authorization = fc.option(
      fc.oneof(
        fc.constantFrom(...users).map((u) => `Bearer ${u.token}`),
        fc.constantFrom(...users).map((u) => `Bearer ${u.token.slice(1)}`),
        fc.constantFrom(...users).map((u) => `bearer ${u.token}`),
        printable(60).map((t) => `Bearer ${t}`),
        printable(60),
      ),
    );
    const request = fc.record({
      route: fc.constantFrom(
        'POST /v1/users',
        'GET /v1/entitlements',
        'GET /v1/premium/ping',
        'OPTIONS /v1/users',
        'DELETE /v1/users',
        'GET /v1/users',
        'POST /v1/account/email',
        'POST /v1/account/verify',
        'POST /v1/account/signout',
      ),
      query: fc.option(fc.webQueryParameters()),
      authorization,
      origin: fc.option(fc.constantFrom('chrome-extension://abcdefghijklmnopabcdefghijklmnop', 'https://evil.example', 'null')),
      type: contentType,
      body: fc.option(fc.oneof(fc.json({ maxDepth: 3 }), anyText(100), bodyFor('/v1/account/verify'))),
      extra: extraHeaders,
    });
    await fc.assert(
      fc.asyncProperty(request, async ({ route, query, authorization: auth, origin, type, body, extra }) => {
        const [method, path] = route.split(' ') as [string, string];
        const headers: Record<string, string> = { ...extra };
        if (auth !== null) headers.authorization = auth;
        if (origin !== null) headers.origin = origin;
        if (type !== null) headers['content-type'] = type;
        const withBody = method === 'POST' && body !== null;
        const answer = await send(`${context.svc.baseUrl}${path}${query ? `?${query}` : ''}`, {
          method,
          headers,
          body: withBody ? body : undefined,
        });
        expectWellFormed(answer);
        const owner = users.find((u) => auth === `Bearer ${u.token}`);
        if (path === '/v1/entitlements' && method === 'GET') {
          expect(answer.status).toBe(owner ? 200 : 401);
          if (owner) expect(answer.json.userId).toBe(owner.userId);
        }
        if (path === '/v1/premium/ping' && method === 'GET') expect(answer.status).toBe(owner ? 402 : 401);
        if (path.startsWith('/v1/account/') && !owner) expect(answer.status).toBeGreaterThanOrEqual(400);
        // Signed out, the token acts for a fresh user from then on; no random code opens an account.
        if (path === '/v1/account/signout' && answer.status === 200) {
          expect(answer.json).toEqual({ userId: expect.stringMatching(/^usr_/), linked: false });
          owner!.userId = answer.json.userId;
        }
        if (path === '/v1/account/verify') expect(answer.status).not.toBe(200);
        if (path === '/v1/account/email' && answer.status < 300) expect([answer.status, answer.json]).toEqual([202, { sent: true }]);
        if (answer.status === 201) expect(answer.json.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      }),
      { numRuns: RUNS.users },
    );
    expect((await fetch(`${context.svc.baseUrl}/healthz`)).status).toBe(200);
  });

  it(`account routes, ${RUNS.account} random requests with a valid token from random client addresses: 202, 200 or a clean 4xx`, async () => {
    const user = await createUser(context.svc.baseUrl);
    const request = fc
      .constantFrom('/v1/account/email', '/v1/account/verify', '/v1/account/signout')
      .chain((path) => fc.record({ path: fc.constant(path), body: bodyFor(path), client: fc.ipV4() }));
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(request, async ({ path, body, client }) => {
        const answer = await send(`${context.svc.baseUrl}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json', 'x-forwarded-for': client },
          body,
        });
        expectWellFormed(answer);
        if (path === '/v1/account/email' && answer.status < 300) {
          expect([answer.status, answer.json]).toEqual([202, { sent: true }]);
          sent++;
        }
        // No random code opens an account.
        if (path === '/v1/account/verify') expect(answer.status).not.toBe(200);
        if (path === '/v1/account/signout' && answer.status === 200)
          expect(answer.json).toEqual({ userId: expect.stringMatching(/^usr_/), linked: false });
      }),
      { numRuns: RUNS.account },
    );
    expect(sent).toBeGreaterThan(RUNS.account / 15);
    await expect.poll(() => smtp!.messages.length).toBeGreaterThanOrEqual(sent);
    for (const message of smtp!.messages) expect(message.text.match(/\b\d{6}\b/g)).toHaveLength(1);
    expect((await fetch(`${context.svc.baseUrl}/healthz`)).status).toBe(200);
  });
});
