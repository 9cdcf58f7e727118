import { describe, expect, it } from 'vitest';
import { DEFAULT_RATE_LIMITS } from '../../src/config/index.js';
import { createUser as createUserInDb } from '../../src/users/index.js';
import { BACKENDS } from '../helpers/databases.js';
import { deliver, newId, nowSeconds, subscriptionEvent } from '../helpers/events.js';
import { useService } from '../helpers/service.js';

const UNKNOWN_TOKEN = 'A'.repeat(43);

async function signUp(baseUrl: string, headers: Record<string, string> = {}): Promise<Response> {
  const response = await fetch(`${baseUrl}/v1/users`, { method: 'POST', headers });
  await response.arrayBuffer();
  return response;
}

async function authenticated(baseUrl: string, path: string, token: string): Promise<Response> {
  const response = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  return response;
}

/** A 429 with a whole number of seconds to wait, at most a minute, and a JSON error. */
async function expectRateLimited(response: Response): Promise<void> {
  expect(response.status).toBe(429);
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(Number(response.headers.get('retry-after'))).toBeLessThanOrEqual(60);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
}

describe.each(BACKENDS)('rate limits on $name', (backend) => {
  describe('with the default limits', () => {
    const context = useService(backend, { config: { rateLimits: DEFAULT_RATE_LIMITS } });

    it('the defaults let real use through: at least 30 sign-ups and 60 failed authentications a minute', () => {
      expect(DEFAULT_RATE_LIMITS.signupsPerMinute).toBeGreaterThanOrEqual(30);
      expect(DEFAULT_RATE_LIMITS.authFailuresPerMinute).toBeGreaterThanOrEqual(60);
    });

    it('sign-ups: the limit is allowed from one address, the next gets 429 with Retry-After', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < DEFAULT_RATE_LIMITS.signupsPerMinute; i++) statuses.push((await signUp(context.svc.baseUrl)).status);
      expect(new Set(statuses)).toEqual(new Set([201]));
      const refused = await fetch(`${context.svc.baseUrl}/v1/users`, { method: 'POST' });
      await expectRateLimited(refused);
      expect(await refused.json()).toMatchObject({ error: 'rate_limited' });
    });

    it('failed authentications: the limit of 401s, then 429 for every token from that address, checked before the token', async () => {
      const user = await createUserInDb(context.svc.store.db);
      expect((await authenticated(context.svc.baseUrl, '/v1/entitlements', user.token)).status).toBe(200);
      const statuses: number[] = [];
      for (let i = 0; i < DEFAULT_RATE_LIMITS.authFailuresPerMinute; i++) {
        statuses.push((await authenticated(context.svc.baseUrl, i % 2 ? '/v1/entitlements' : '/v1/premium/ping', UNKNOWN_TOKEN)).status);
      }
      expect(new Set(statuses)).toEqual(new Set([401]));
      await expectRateLimited(await authenticated(context.svc.baseUrl, '/v1/entitlements', UNKNOWN_TOKEN));
      await expectRateLimited(await authenticated(context.svc.baseUrl, '/v1/premium/ping', user.token));
    });

    it('an address over both limits still has its webhook deliveries accepted at once, and health answers', async () => {
      await expectRateLimited(await signUp(context.svc.baseUrl));
      const events = Array.from({ length: 20 }, () =>
        subscriptionEvent('updated', { id: newId('sub'), customer: newId('cus'), status: 'active' }, nowSeconds()),
      );
      const started = Date.now();
      const results = await Promise.all(events.map((event) => deliver(context.svc.baseUrl, event)));
      expect(results.map((r) => r.status)).toEqual(events.map(() => 200));
      expect(Date.now() - started).toBeLessThan(2000);
      expect((await fetch(`${context.svc.baseUrl}/healthz`)).status).toBe(200);
    });
  });

  describe('X-Forwarded-For from an untrusted peer (TRUST_PROXY unset)', () => {
    const context = useService(backend, { config: { rateLimits: { signupsPerMinute: 3, authFailuresPerMinute: 3 } } });

    it('is ignored: a client cannot dodge the limit by inventing addresses', async () => {
      const statuses: number[] = [];
      for (let i = 1; i <= 4; i++) statuses.push((await signUp(context.svc.baseUrl, { 'x-forwarded-for': `203.0.113.${i}` })).status);
      expect(statuses).toEqual([201, 201, 201, 429]);
    });
  });

  describe.each([
    { setting: '127.0.0.1', trustProxy: ['127.0.0.1'] },
    { setting: '1 (hop)', trustProxy: 1 },
  ])('behind a trusted proxy (TRUST_PROXY=$setting)', ({ trustProxy }) => {
    const context = useService(backend, { config: { trustProxy, rateLimits: { signupsPerMinute: 3, authFailuresPerMinute: 3 } } });

    it('each forwarded client address has its own budget', async () => {
      const first = [];
      for (let i = 0; i < 4; i++) first.push((await signUp(context.svc.baseUrl, { 'x-forwarded-for': '203.0.113.7' })).status);
      expect(first).toEqual([201, 201, 201, 429]);
      expect((await signUp(context.svc.baseUrl, { 'x-forwarded-for': '203.0.113.8' })).status).toBe(201);
    });
  });
});
