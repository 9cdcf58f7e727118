import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/databases.js';
import { deliver, newId, nowSeconds, subscriptionEvent } from '../helpers/events.js';
import { metricValue } from '../helpers/metrics.js';
import { useService } from '../helpers/service.js';

/** With a Stripe key configured, only events of the key's mode are accepted; without one, both. */
describe.each(BACKENDS)('event mode on $name', (backend) => {
  describe.each([
    { key: 'sk_live_51Habcdefghijklmnop', answers: { live: 200, test: 400 } },
    { key: 'rk_live_51Habcdefghijklmnop', answers: { live: 200, test: 400 } },
    { key: 'sk_test_51Habcdefghijklmnop', answers: { live: 400, test: 200 } },
    { key: undefined, answers: { live: 200, test: 200 } },
  ])('with STRIPE_SECRET_KEY=$key', ({ key, answers }) => {
    const context = useService(backend, { config: { stripeSecretKey: key } });

    it.each(['live', 'test'] as const)('a %s-mode event', async (mode) => {
      const event = {
        ...subscriptionEvent('updated', { id: newId('sub'), customer: newId('cus'), status: 'active' }, nowSeconds()),
        livemode: mode === 'live',
      };
      const sample = `stripe_webhook_events_received_total{type="${event.type}",outcome="livemode_mismatch"}`;
      const before = await metricValue(context.svc.baseUrl, sample);
      const result = await deliver(context.svc.baseUrl, event);
      const stored = await context.svc.store.db.selectFrom('webhook_events').select('id').where('id', '=', event.id).execute();

      expect(result.status).toBe(answers[mode]);
      if (answers[mode] === 200) {
        expect(stored).toHaveLength(1);
        expect(await metricValue(context.svc.baseUrl, sample)).toBe(before);
      } else {
        expect(result.body).toEqual({
          error: 'livemode_mismatch',
          message: `this service only accepts ${mode === 'live' ? 'test' : 'live'}-mode events`,
        });
        expect(stored).toHaveLength(0);
        expect(await metricValue(context.svc.baseUrl, sample)).toBe(before + 1);
      }
    });
  });
});
