import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from './helpers/databases.js';
import { envelope, newId, nowSeconds, serialize, signatureHeader, subscriptionObject } from './helpers/events.js';
import { useService } from './helpers/service.js';
import { createUser, type TestUser } from './helpers/users.js';

/**
 * Random headers and bodies against the running service: every answer is a 2xx, or a 4xx with a
 * JSON error; the process stays up; the database holds exactly the events that were answered 2xx.
 */

const RUNS = { webhook: 1000, users: 1000 };

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

describe.each(BACKENDS)('fuzzing the public routes on $name', (backend) => {
  const context = useService(backend);

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
      ),
      query: fc.option(fc.webQueryParameters()),
      authorization,
      origin: fc.option(fc.constantFrom('chrome-extension://abcdefghijklmnopabcdefghijklmnop', 'https://evil.example', 'null')),
      type: contentType,
      body: fc.option(fc.oneof(fc.json({ maxDepth: 3 }), anyText(100))),
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
        if (answer.status === 201) expect(answer.json.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      }),
      { numRuns: RUNS.users },
    );
    expect((await fetch(`${context.svc.baseUrl}/healthz`)).status).toBe(200);
  });
});
