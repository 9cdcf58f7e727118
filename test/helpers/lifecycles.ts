import { expect } from 'vitest';
import type { Store } from '../../src/db/index.js';
import { newId, type StripeEventBody, subscriptionEvent } from './events.js';

/** One subscription's life cycle, eight events in `created` order; the last event decides the expected record. */
export function lifecycle(index: number, start: number): StripeEventBody[] {
  const spec = { id: newId('sub'), customer: newId('cus') };
  const steps: [string, string, string][] = [
    ['created', 'incomplete', 'price_basic'],
    ['updated', 'active', 'price_basic'],
    ['updated', 'active', 'price_pro'],
    ['updated', 'past_due', 'price_pro'],
    ['updated', 'active', 'price_pro'],
    ['updated', 'active', 'price_basic'],
    ['updated', index % 3 === 0 ? 'past_due' : 'active', 'price_team'],
    [index % 2 === 0 ? 'deleted' : 'updated', index % 2 === 0 ? 'canceled' : 'active', `price_final_${index % 5}`],
  ];
  return steps.map(([type, status, priceId], i) => subscriptionEvent(type, { ...spec, status, priceId }, start + i * 7));
}

/** Shuffles `items` in place (Fisher–Yates); `random` as Math.random, for a reproducible order. */
export function shuffle<T>(items: T[], random: () => number = Math.random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** Waits until every stored event is applied; then checks none was applied twice and each record is its life cycle's last event. */
export async function expectLifecyclesAppliedOnce(store: Store, lifecycles: StripeEventBody[][], timeoutMs: number): Promise<void> {
  const events = lifecycles.flat();
  await expect
    .poll(
      async () =>
        Number(
          (
            await store.db
              .selectFrom('webhook_events')
              .select((eb) => eb.fn.countAll().as('n'))
              .where('status', '=', 'applied')
              .executeTakeFirstOrThrow()
          ).n,
        ),
      {
        timeout: timeoutMs,
        interval: 250,
      },
    )
    .toBe(events.length);
  const rows = await store.db.selectFrom('webhook_events').select(['id', 'status']).execute();
  expect(rows.map((r) => r.id).sort()).toEqual(events.map((e) => e.id).sort());
  const appliedTwice = await store.db
    .selectFrom('subscription_history')
    .select('event_id')
    .groupBy('event_id')
    .having((eb) => eb.fn.countAll(), '>', 1)
    .execute();
  expect(appliedTwice).toEqual([]);
  const records = new Map((await store.db.selectFrom('subscriptions').selectAll().execute()).map((r) => [r.id, r]));
  for (const lifecycleEvents of lifecycles) {
    const last = lifecycleEvents.at(-1)!;
    expect(records.get(last.data.object.id)).toMatchObject({
      status: last.data.object.status,
      price_id: last.data.object.items.data[0].price.id,
      last_event_id: last.id,
    });
  }
}
