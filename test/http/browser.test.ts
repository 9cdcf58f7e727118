import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/databases.js';
import { deliver, newId, nowSeconds, subscriptionEvent } from '../helpers/events.js';
import { metricTotal } from '../helpers/metrics.js';
import { type RawAnswer, rawRequest } from '../helpers/raw-http.js';
import { useService } from '../helpers/service.js';
import { createUser } from '../helpers/users.js';

const EXTENSION = 'chrome-extension://abcdefghijklmnopabcdefghijklmnop';
const HTML = '<script>alert(1)</script>';

function expectSecurityHeaders(headers: Record<string, string | string[] | undefined>): void {
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['x-frame-options']).toBe('DENY');
  expect(headers['referrer-policy']).toBe('no-referrer');
  expect(headers['content-security-policy']).toMatch(/^default-src 'none'/);
  expect(headers['cache-control']).toBe('no-store');
}

/** What a browser page could reach: only the extension's origins get CORS, every answer is hardened JSON. */
describe.each(BACKENDS)('browser surface on $name', (backend) => {
  const context = useService(backend, { config: { extensionOrigins: [EXTENSION, 'chrome-extension://ponmlkjihgfedcbaponmlkjihgfedcba'] } });
  const url = (path: string) => `${context.svc.baseUrl}${path}`;

  describe('security headers on every answer', () => {
    const requests: [string, () => Promise<RawAnswer>, number][] = [
      ['a sign-up', () => rawRequest(url('/v1/users')), 201],
      ['an entitlement without a token', () => rawRequest(url('/v1/entitlements'), { method: 'GET' }), 401],
      [
        'a premium check of a new user',
        async () =>
          rawRequest(url('/v1/premium/ping'), {
            method: 'GET',
            headers: { authorization: `Bearer ${(await createUser(context.svc.baseUrl)).token}` },
          }),
        402,
      ],
      [
        'an entitlement with a token',
        async () =>
          rawRequest(url('/v1/entitlements'), {
            method: 'GET',
            headers: { authorization: `Bearer ${(await createUser(context.svc.baseUrl)).token}` },
          }),
        200,
      ],
      ['an unknown route', () => rawRequest(url('/nope'), { method: 'GET' }), 404],
      ['invalid JSON', () => rawRequest(url('/v1/users'), { headers: { 'content-type': 'application/json' }, body: '{' }), 400],
      ['an unsupported content type', () => rawRequest(url('/v1/users'), { headers: { 'content-type': 'text/html' }, body: HTML }), 415],
      [
        'a body over the limit',
        () => rawRequest(url('/v1/users'), { headers: { 'content-type': 'application/json' }, body: `"${'x'.repeat(70_000)}"` }),
        413,
      ],
      ['an undecodable URL', () => rawRequest(url('/v1/%zz'), { method: 'GET' }), 400],
      ['an unsigned webhook', () => rawRequest(url('/webhooks/stripe'), { body: '{}' }), 400],
      ['a refused preflight', () => rawRequest(url('/v1/users'), { method: 'OPTIONS', headers: { origin: 'https://evil.example' } }), 403],
      ['health', () => rawRequest(url('/healthz'), { method: 'GET' }), 200],
      ['metrics', () => rawRequest(url('/metrics'), { method: 'GET' }), 200],
      ['headers over 16 KiB', () => rawRequest(url('/healthz'), { method: 'GET', headers: { 'x-padding': 'x'.repeat(20_000) } }), 431],
    ];
    it.each(requests)('%s', async (_name, send, status) => {
      const answer = await send();
      expect(answer.status).toBe(status);
      expectSecurityHeaders(answer.headers);
    });
  });

  it('every answer is counted in http_responses_total, refusals before routing included', async () => {
    const sends = [
      () => rawRequest(url('/v1/%zz'), { method: 'GET' }),
      () => rawRequest(url('/healthz'), { method: 'GET', headers: { 'x-padding': 'x'.repeat(20_000) } }),
      () => rawRequest(url('/nope'), { method: 'GET' }),
      () => rawRequest(url('/webhooks/stripe'), { body: '{}' }),
      () => rawRequest(url('/v1/users')),
    ];
    for (const send of sends) {
      const before = await metricTotal(context.svc.baseUrl, 'http_responses_total');
      await send();
      // The metrics read that took `before` is counted once it has answered.
      expect(await metricTotal(context.svc.baseUrl, 'http_responses_total')).toBe(before + 2);
    }
  });

  it('no answer repeats its input, and every error is JSON', async () => {
    const answers = [
      await rawRequest(url(`/${encodeURIComponent(HTML)}`), { method: 'GET' }),
      await rawRequest(url(`/v1/entitlements?next=${encodeURIComponent(HTML)}`), {
        method: 'GET',
        headers: { authorization: `Bearer ${HTML}` },
      }),
      await rawRequest(url('/v1/users'), { headers: { 'content-type': 'application/json' }, body: `{"a":${HTML}}` }),
      await rawRequest(url('/v1/users'), { headers: { 'content-type': `text/html; x=${encodeURIComponent(HTML)}` }, body: HTML }),
      await rawRequest(url(`/v1/%${HTML.slice(1, 3)}`), { method: 'GET' }),
      await rawRequest(url('/webhooks/stripe'), { headers: { 'stripe-signature': encodeURIComponent(HTML) }, body: HTML }),
    ];
    for (const answer of answers) {
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(answer.body).error).toMatch(/^[a-z_]+$/);
      expect(answer.body).not.toMatch(/script|alert/);
    }
  });

  describe('CORS', () => {
    it.each(['/v1/users', '/v1/entitlements'])('a configured extension origin may preflight %s', async (path) => {
      const answer = await rawRequest(url(path), {
        method: 'OPTIONS',
        headers: { origin: EXTENSION, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
      expect(answer.status).toBe(204);
      expect(answer.headers['access-control-allow-origin']).toBe(EXTENSION);
      expect(answer.headers['access-control-allow-headers']).toMatch(/Authorization/);
      expect(answer.headers['access-control-allow-methods']).toMatch(/GET/);
    });

    it('a configured origin is named on answers, errors included, and may read Retry-After', async () => {
      const user = await createUser(context.svc.baseUrl);
      for (const authorization of [`Bearer ${user.token}`, 'Bearer nope']) {
        const response = await fetch(url('/v1/entitlements'), { headers: { origin: EXTENSION, authorization } });
        expect(response.headers.get('access-control-allow-origin')).toBe(EXTENSION);
        expect(response.headers.get('access-control-expose-headers')).toBe('Retry-After');
        expect(response.headers.get('vary')).toMatch(/Origin/);
      }
    });

    it.each(['https://evil.example', 'chrome-extension://zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz', `${EXTENSION}.evil.example`, 'null'])(
      'any other origin (%s) gets no CORS headers, and its preflight is refused',
      async (origin) => {
        const response = await fetch(url('/v1/entitlements'), { headers: { origin } });
        expect(response.status).toBe(401);
        expect(response.headers.get('access-control-allow-origin')).toBeNull();
        const preflight = await rawRequest(url('/v1/entitlements'), {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'GET' },
        });
        expect(preflight.status).toBe(403);
        expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
        expect(JSON.parse(preflight.body).error).toBe('origin_not_allowed');
      },
    );

    it('the webhook and ops routes never answer CORS, even to the extension', async () => {
      const event = subscriptionEvent('updated', { id: newId('sub'), customer: newId('cus'), status: 'active' }, nowSeconds());
      expect((await deliver(context.svc.baseUrl, event)).status).toBe(200);
      for (const answer of [
        await rawRequest(url('/webhooks/stripe'), { headers: { origin: EXTENSION }, body: '{}' }),
        await rawRequest(url('/metrics'), { method: 'GET', headers: { origin: EXTENSION } }),
        await rawRequest(url('/webhooks/stripe'), {
          method: 'OPTIONS',
          headers: { origin: EXTENSION, 'access-control-request-method': 'POST' },
        }),
      ]) {
        expect(answer.headers['access-control-allow-origin']).toBeUndefined();
      }
    });
  });
});

describe.each(BACKENDS)('without EXTENSION_ORIGINS on $name', (backend) => {
  const context = useService(backend);

  it('no origin gets CORS headers', async () => {
    const response = await fetch(`${context.svc.baseUrl}/v1/users`, { method: 'POST', headers: { origin: EXTENSION } });
    expect(response.status).toBe(201);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});
