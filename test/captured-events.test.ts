import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from './helpers/databases.js';
import { capturedEvent, deliver, STRIPE_FIXTURES_DIR } from './helpers/events.js';
import { useService } from './helpers/service.js';

/** Real Stripe test-mode deliveries (API 2020-03-02), re-signed with the suite's secret. */
describe.each(BACKENDS)('captured Stripe events on $name', (backend) => {
  const context = useService(backend);
  const files = readdirSync(`${STRIPE_FIXTURES_DIR}captured-events`).filter((f) => f.endsWith('.json'));

  it('every captured delivery is accepted and applied or ignored, none fails', async () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
    const events = files.map(capturedEvent).sort((a, b) => a.created - b.created);
    for (const event of events) expect((await deliver(context.svc.baseUrl, event)).status).toBe(200);
    await context.svc.settle();
    const rows = await context.svc.store.db.selectFrom('webhook_events').select(['id', 'type', 'status', 'last_error']).execute();
    // Two of the captured deliveries share one event id (as Stripe data sometimes does): stored once.
    expect(rows).toHaveLength(new Set(events.map((e) => e.id)).size);
    for (const row of rows)
      expect([row.type, row.status, row.last_error]).toEqual([row.type, expect.stringMatching(/^(applied|ignored)$/), null]);
    const subscription = await context.svc.store.db
      .selectFrom('subscriptions')
      .selectAll()
      .where('id', '=', 'sub_JdIzvfy6o5GZRd')
      .executeTakeFirstOrThrow();
    expect(subscription.current_period_end).toBeGreaterThan(0);
    const entitled = await context.svc.store.db
      .selectFrom('customers')
      .selectAll()
      .where('id', '=', 'cus_Sll319ReSxCmEi')
      .executeTakeFirstOrThrow();
    expect(JSON.parse(entitled.features!)).toEqual(['journeys']);
  });
});
