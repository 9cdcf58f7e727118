import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deliver, newId, nowSeconds, type StripeEventBody, subscriptionEvent } from '../helpers/events.js';
import { SYNC_SETUPS, useSyncModeService } from '../helpers/stripe.js';
import { createUser, getEntitlement } from '../helpers/users.js';

const GRACE_HOURS = 72;

type Operation = 'upgrade' | 'downgrade' | 'payment_failure' | 'recovery' | 'cancel_at_period_end' | 'pause' | 'resume' | 'cancel_now';

interface State {
  status: string;
  priceId: string;
  cancelAtPeriodEnd: boolean;
}

/** The life cycle as Stripe would move it: one operation, one new subscription state. */
function step(state: State, operation: Operation): State {
  switch (operation) {
    case 'upgrade':
      return { ...state, priceId: 'price_pro' };
    case 'downgrade':
      return { ...state, priceId: 'price_basic' };
    case 'payment_failure':
      return { ...state, status: 'past_due' };
    case 'recovery':
    case 'resume':
      return { ...state, status: 'active' };
    case 'cancel_at_period_end':
      return { ...state, cancelAtPeriodEnd: true };
    case 'pause':
      return { ...state, status: 'paused' };
    case 'cancel_now':
      return { ...state, status: 'canceled' };
  }
}

const lifecycleArbitrary = fc.record({
  first: fc.constantFrom('incomplete', 'trialing', 'active'),
  operations: fc.array(
    fc.constantFrom<Operation>(
      'upgrade',
      'downgrade',
      'payment_failure',
      'recovery',
      'cancel_at_period_end',
      'pause',
      'resume',
      'cancel_now',
    ),
    { minLength: 1, maxLength: 10 },
  ),
  gaps: fc.array(fc.integer({ min: 1, max: 40_000 }), { minLength: 12, maxLength: 12 }),
  ageHours: fc.integer({ min: 0, max: 200 }),
  duplicates: fc.array(fc.nat(), { maxLength: 6 }),
  order: fc.array(fc.nat(), { minLength: 20, maxLength: 20 }),
  concurrentChunk: fc.integer({ min: 1, max: 6 }),
});

/**
 * Random subscription life cycles turned into Stripe-shaped events, delivered shuffled,
 * duplicated and partly concurrently: the final record and entitlement always equal those of
 * the last event by `created`, in both sync modes.
 */
describe.each(SYNC_SETUPS)('any delivery order of a life cycle, on $name, $syncMode sync', ({ backend, syncMode }) => {
  const context = useSyncModeService(backend, syncMode);

  it('ends at the state of the last event by created', async () => {
    await fc.assert(
      fc.asyncProperty(lifecycleArbitrary, async (lifecycle) => {
        const user = await createUser(context.svc.baseUrl);
        const spec = { id: newId('sub'), customer: newId('cus'), userId: user.userId };
        // Strictly increasing `created`; a canceled subscription ends the life cycle.
        const cut = lifecycle.operations.indexOf('cancel_now');
        const operations = cut === -1 ? lifecycle.operations : lifecycle.operations.slice(0, cut + 1);
        let state: State = { status: lifecycle.first, priceId: 'price_basic', cancelAtPeriodEnd: false };
        let created = nowSeconds() - lifecycle.ageHours * 3600 - 400_000;
        const states: { state: State; created: number }[] = [{ state, created }];
        for (const [i, operation] of operations.entries()) {
          created += lifecycle.gaps[i]!;
          state = step(state, operation);
          states.push({ state, created });
        }
        const events: StripeEventBody[] = states.map(({ state: s, created: at }, i) =>
          subscriptionEvent(i === 0 ? 'created' : s.status === 'canceled' ? 'deleted' : 'updated', { ...spec, ...s }, at),
        );

        const deliveries = [...events, ...lifecycle.duplicates.map((d) => events[d % events.length]!)]
          .map((event, i) => ({ event, key: lifecycle.order[i % lifecycle.order.length]! * 100 + i }))
          .sort((a, b) => a.key - b.key)
          .map((d) => d.event);
        // Stripe holds the newest state by the time any of these is delivered (what a refetch reads).
        context.publish(events);
        for (let i = 0; i < deliveries.length; i += lifecycle.concurrentChunk) {
          const answers = await Promise.all(deliveries.slice(i, i + lifecycle.concurrentChunk).map((e) => deliver(context.svc.baseUrl, e)));
          expect(answers.every((a) => a.status === 200)).toBe(true);
        }
        await context.svc.settle();

        // The model: the last state by created; the grace starts with the last past_due streak.
        const last = states.at(-1)!;
        let pastDueSince: number | null = null;
        for (const { state: s, created: at } of states) pastDueSince = s.status === 'past_due' ? (pastDueSince ?? at) : null;
        const graceUntil = pastDueSince === null ? null : pastDueSince + GRACE_HOURS * 3600;
        const premium = ['active', 'trialing'].includes(last.state.status) || (graceUntil !== null && nowSeconds() < graceUntil);

        const record = await context.svc.store.db
          .selectFrom('subscriptions')
          .selectAll()
          .where('id', '=', spec.id)
          .executeTakeFirstOrThrow();
        expect(record).toMatchObject({
          status: last.state.status,
          price_id: last.state.priceId,
          cancel_at_period_end: last.state.cancelAtPeriodEnd ? 1 : 0,
          last_event_created: last.created,
          past_due_since: pastDueSince,
        });
        const answer = await getEntitlement(context.svc.baseUrl, user.token);
        expect(answer).toMatchObject({
          premium,
          status: last.state.status,
          priceId: last.state.priceId,
          graceUntil: graceUntil === null ? null : new Date(graceUntil * 1000).toISOString(),
        });
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
