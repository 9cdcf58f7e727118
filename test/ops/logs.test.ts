import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/databases.js';
import { customerEvent, deliver, deliverAll, newId, nowSeconds, serialize, signatureHeader, subscriptionEvent } from '../helpers/events.js';
import { TEST_SECRET, useService } from '../helpers/service.js';
import { createUser, getEntitlement } from '../helpers/users.js';

const ADMIN_TOKEN = 'admin-token-that-must-never-be-logged';
const EMAIL = 'jenny.rosen.private@example.com';

describe.each(BACKENDS)('structured logs on $name', (backend) => {
  const context = useService(backend, { config: { adminToken: ADMIN_TOKEN } });

  it('say what happened to each delivery and attempt, and never carry secrets, tokens, signatures or customer data', async () => {
    const user = await createUser(context.svc.baseUrl);
    const customer = customerEvent('created', { id: newId('cus'), userId: user.userId, created: nowSeconds() });
    customer.data.object.email = EMAIL;
    customer.data.object.name = 'Jenny Rosen Private';
    const subscription = subscriptionEvent(
      'created',
      { id: newId('sub'), customer: customer.data.object.id, status: 'active' },
      nowSeconds(),
    );
    await deliverAll(context.svc.baseUrl, [customer, subscription]);
    const payload = serialize(subscription);
    const goodHeader = signatureHeader(payload);
    await deliver(context.svc.baseUrl, subscription, {
      body: payload,
      headers: { 'content-type': 'application/json', 'stripe-signature': goodHeader },
    });
    const forgedHeader = signatureHeader(payload, { secret: 'whsec_forger_secret_never_logged_either' });
    await deliver(context.svc.baseUrl, subscription, {
      body: payload,
      headers: { 'content-type': 'application/json', 'stripe-signature': forgedHeader },
    });
    await context.svc.settle();
    await getEntitlement(context.svc.baseUrl, user.token);
    await fetch(`${context.svc.baseUrl}/admin/stats`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    await fetch(`${context.svc.baseUrl}/admin/stats`, { headers: { authorization: 'Bearer a-wrong-admin-token-value' } });

    const logs = context.svc.logs;
    const intake = logs.filter((l) => l.msg === 'webhook received');
    expect(intake.map((l) => [l.eventId, l.outcome])).toEqual([
      [customer.id, 'stored'],
      [subscription.id, 'stored'],
      [subscription.id, 'duplicate'],
    ]);
    for (const line of intake)
      expect(line).toMatchObject({
        type: expect.any(String),
        durationMs: expect.any(Number),
        reqId: expect.any(String),
        route: '/webhooks/stripe',
        status: 200,
      });
    // One line per delivery: the request's own line says what intake did.
    expect(logs.filter((l) => l.route === '/webhooks/stripe' && l.status === 200).map((l) => l.msg)).toEqual(
      intake.map(() => 'webhook received'),
    );
    const processed = logs.filter((l) => l.msg === 'event applied');
    expect(processed.map((l) => l.eventId).sort()).toEqual([customer.id, subscription.id].sort());
    for (const line of processed)
      expect(line).toMatchObject({ type: expect.any(String), attempt: 1, outcome: expect.any(String), durationMs: expect.any(Number) });

    const everything = JSON.stringify(logs);
    const secrets = [
      TEST_SECRET,
      ADMIN_TOKEN,
      'a-wrong-admin-token-value',
      user.token,
      goodHeader,
      forgedHeader,
      goodHeader.split('v1=')[1]!,
      forgedHeader.split('v1=')[1]!,
      EMAIL,
      'Jenny Rosen Private',
    ];
    for (const secret of secrets) expect(everything, secret).not.toContain(secret);
  });
});
