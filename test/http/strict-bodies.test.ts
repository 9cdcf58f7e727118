import { beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/databases.js';
import { deliverAll, envelope, nowSeconds } from '../helpers/events.js';
import { useBillingService } from '../helpers/stripe.js';
import { billing, createUser, type TestUser } from '../helpers/users.js';

const ADMIN_TOKEN = 'admin-token-for-the-strict-input-tests';

/**
 * A field a route does not know is a caller's mistake (`price_id` for `priceId` would buy the
 * default price): every route that takes a JSON body, and the admin list's query string, refuse
 * it with 400 `invalid_request` naming it, and change nothing.
 */
describe.each(BACKENDS)('unknown input fields on $name', (backend) => {
  const context = useBillingService(backend, { config: { adminToken: ADMIN_TOKEN } });
  let user: TestUser;
  let storedEventId: string;

  beforeAll(async () => {
    user = await createUser(context.svc.baseUrl);
    // A Stripe customer, so that the portal would open; a stored event, so that a replay would change it.
    expect((await billing(context.svc.baseUrl, user.token, 'checkout')).status).toBe(200);
    const event = envelope('invoice.finalized', { object: 'invoice', id: 'in_strict_1' }, nowSeconds());
    await deliverAll(context.svc.baseUrl, [event]);
    storedEventId = event.id;
    await context.standIn.webhooks.flush();
    await context.svc.settle();
  });

  /** Everything a refused request could have changed: users, every call to Stripe, the stored events. */
  async function everything() {
    const { db } = context.svc.store;
    return {
      users: await db.selectFrom('users').select('id').orderBy('id').execute(),
      stripeRequests: context.standIn.requests.length,
      checkoutSessions: context.standIn.state.checkoutSessions.size,
      events: await db.selectFrom('webhook_events').selectAll().orderBy('id').execute(),
      eventAttempts: await db.selectFrom('event_attempts').selectAll().orderBy('id').execute(),
    };
  }

  const routes = {
    'POST /v1/users': () => ({ path: '/v1/users', authorization: undefined }),
    'POST /v1/billing/checkout': () => ({ path: '/v1/billing/checkout', authorization: `Bearer ${user.token}` }),
    'POST /v1/billing/portal': () => ({ path: '/v1/billing/portal', authorization: `Bearer ${user.token}` }),
    'POST /admin/webhook-events/:id/replay': () => ({
      path: `/admin/webhook-events/${storedEventId}/replay`,
      authorization: `Bearer ${ADMIN_TOKEN}`,
    }),
  };

  it.each([
    ['POST /v1/users', { userId: 'usr_chosen_by_the_caller' }, 'unknown field: userId'],
    ['POST /v1/billing/checkout', { price_id: 'price_pro' }, 'unknown field: price_id'],
    ['POST /v1/billing/checkout', { priceId: 'price_pro', coupon: 'FREE100', trial: true }, 'unknown fields: coupon, trial'],
    ['POST /v1/billing/portal', { returnUrl: 'https://elsewhere.example/' }, 'unknown field: returnUrl'],
    ['POST /admin/webhook-events/:id/replay', { resetAttempts: true }, 'unknown field: resetAttempts'],
  ] as const)('%s with %j: 400 invalid_request naming the field, nothing changed, the refusal logged', async (route, body, message) => {
    const { path, authorization } = routes[route]();
    const before = await everything();
    const response = await fetch(`${context.svc.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(body),
    });
    expect([response.status, await response.json()]).toEqual([400, { error: 'invalid_request', message }]);
    await context.svc.settle();
    expect(await everything()).toEqual(before);
    const pattern = route.split(' ')[1];
    expect(context.svc.logs.filter((line) => line.route === pattern && line.status === 400).at(-1)).toMatchObject({
      error: 'invalid_request',
      reason: message,
    });
  });

  it('GET /admin/webhook-events with an unknown query parameter: 400 invalid_request naming it', async () => {
    const response = await fetch(`${context.svc.baseUrl}/admin/webhook-events?stauts=dead&limit=5`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect([response.status, await response.json()]).toEqual([
      400,
      { error: 'invalid_request', message: 'unknown query parameter: stauts' },
    ]);
  });

  it.each([
    ['a name with markup', { '<script>alert(1)</script>': 1 }, 'unknown field: (1 name not shown)'],
    ['an email as a name', { 'jenny.rosen@example.com': 1 }, 'unknown field: (1 name not shown)'],
    [
      '5 000 names',
      Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i])),
      'unknown fields: k0, k1, k2, k3, k4 and 4995 more',
    ],
  ])('an unknown field with %s: the answer and the log repeat only a few short plain names', async (_name, body, message) => {
    const response = await fetch(`${context.svc.baseUrl}/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect([response.status, await response.json()]).toEqual([400, { error: 'invalid_request', message }]);
    const logs = JSON.stringify(context.svc.logs);
    expect(logs).not.toContain('<script>');
    expect(logs).not.toContain('jenny.rosen@example.com');
  });

  it.each([
    ['an array', [], 'body: Invalid input: expected object, received array'],
    ['a string', 'price_pro', 'body: Invalid input: expected object, received string'],
    ['null', null, 'body: Invalid input: expected object, received null'],
  ])('a body that is %s is refused the same way', async (_name, body, message) => {
    expect(await billing(context.svc.baseUrl, user.token, 'checkout', body)).toEqual({
      status: 400,
      body: { error: 'invalid_request', message },
    });
  });
});
