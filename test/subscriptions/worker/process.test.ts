import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../../src/db/index.js';
import { createMetrics } from '../../../src/ops/metrics.js';
import { createWorker } from '../../../src/server.js';
import type { SyncWorkerOptions } from '../../../src/subscriptions/index.js';
import { BACKENDS, type TestDatabase } from '../../helpers/databases.js';
import { envelope, newId, nowSeconds, type SubscriptionSpec, subscriptionEvent, subscriptionObject } from '../../helpers/events.js';
import { drain, openDatabase, store } from '../../helpers/sync.js';

type Fallback = Parameters<NonNullable<SyncWorkerOptions['onGroupFallback']>>[0];

/** A worker's log lines and fallback reports, for one drain. */
function watched() {
  const lines: Record<string, unknown>[] = [];
  const fallbacks: Fallback[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { lines, fallbacks, options: { logger, onGroupFallback: (fallback: Fallback) => fallbacks.push(fallback) } };
}

const fallbackLines = (lines: Record<string, unknown>[]) => lines.filter((l) => String(l.msg).includes('one by one'));

describe.each(BACKENDS)('a worker group that falls back to one-by-one processing, on $name', (backend) => {
  let context: { database: TestDatabase; store: Store };
  beforeAll(async () => {
    context = await openDatabase(backend);
  });
  afterAll(async () => {
    await context?.store.close();
    await context?.database.drop();
  });

  const created = (count: number) => {
    const specs = Array.from({ length: count }, (): SubscriptionSpec => ({ id: newId('sub'), customer: newId('cus'), status: 'active' }));
    return { specs, events: specs.map((spec) => subscriptionEvent('created', spec, nowSeconds() - 100)) };
  };

  it('says so when the group cannot commit: a warning with the error, the group size and every event id, and a count', async () => {
    const { specs, events } = created(4);
    await store(context.store, events);
    const watch = watched();
    let takenOver = false;
    await drain(context.store, {
      eventsPerTransaction: 25,
      ...watch.options,
      // Another worker takes one event over while the group holds it: the group's commit fails whole.
      readSubscription: async (subscriptionId) => {
        if (subscriptionId === specs[1]!.id && !takenOver) {
          takenOver = true;
          await context.store.db
            .updateTable('webhook_events')
            .set({ locked_by: 'another-worker' })
            .where('id', '=', events[1]!.id)
            .execute();
        }
        return subscriptionObject(specs.find((spec) => spec.id === subscriptionId)!);
      },
    });
    expect(watch.fallbacks).toEqual([{ reason: 'group_failed', events: 4 }]);
    const [line, ...others] = fallbackLines(watch.lines);
    expect(others).toEqual([]);
    expect(line).toMatchObject({ level: 40, reason: 'group_failed', groupSize: 4, err: { message: expect.stringMatching(/lease/) } });
    expect([...(line!.eventIds as string[])].sort()).toEqual(events.map((e) => e.id).sort());
  });

  it('says so when events fail inside the group: their ids and errors, and a count', async () => {
    const { events } = created(3);
    await store(context.store, events);
    const watch = watched();
    const failing = new Set([events[0]!.id, events[2]!.id]);
    await drain(context.store, {
      eventsPerTransaction: 25,
      ...watch.options,
      afterApply: (row) => {
        if (failing.has(row.id)) throw new Error(`injected failure of ${row.id}`);
      },
    });
    expect(watch.fallbacks).toEqual([{ reason: 'event_failed', events: 2 }]);
    const [line, ...others] = fallbackLines(watch.lines);
    expect(others).toEqual([]);
    expect(line).toMatchObject({ level: 40, reason: 'event_failed', groupSize: 3, eventIds: [events[0]!.id, events[2]!.id] });
    expect(line!.errors).toEqual([`injected failure of ${events[0]!.id}`, `injected failure of ${events[2]!.id}`]);
  });

  it('in refetch mode, a Stripe read that failed in the group is not sent again right away: the failure is recorded', async () => {
    const { specs, events } = created(3);
    await store(context.store, events);
    const reads = new Map<string, number>();
    await drain(context.store, {
      eventsPerTransaction: 25,
      readSubscription: async (subscriptionId) => {
        reads.set(subscriptionId, (reads.get(subscriptionId) ?? 0) + 1);
        if (subscriptionId === specs[1]!.id) throw new Error('Stripe answered 500');
        return subscriptionObject(specs.find((spec) => spec.id === subscriptionId)!);
      },
    });
    expect(specs.map((spec) => reads.get(spec.id))).toEqual([1, 1, 1]);
    const rows = await context.store.db
      .selectFrom('webhook_events')
      .select(['id', 'status', 'attempts', 'last_error'])
      .where(
        'id',
        'in',
        events.map((e) => e.id),
      )
      .orderBy('id')
      .execute();
    const byId = new Map(rows.map((row) => [row.id, row]));
    expect(byId.get(events[1]!.id)).toMatchObject({ status: 'failed', attempts: 1, last_error: 'Stripe answered 500' });
    expect([events[0]!, events[2]!].map((e) => byId.get(e.id)!.status)).toEqual(['applied', 'applied']);
  });

  it('the service counts fallbacks in sync_group_fallbacks_total, by reason', async () => {
    const { events } = created(2);
    const invalid = envelope('customer.subscription.updated', { object: 'subscription', id: newId('sub') }, nowSeconds());
    await store(context.store, [...events, invalid]);
    const metrics = createMetrics();
    const config = {
      retrySchedule: [60_000],
      eventRetentionDays: 30,
      workerConcurrency: 1,
      workerLeaseMs: 60_000,
      syncMode: 'payload' as const,
    };
    await createWorker(config, context.store, pino({ level: 'silent' }), { metrics }).drain();
    const text = await metrics.registry.getSingleMetricAsString('sync_group_fallbacks_total');
    expect(text).toContain('sync_group_fallbacks_total{reason="event_failed"} 1');
    expect(
      await context.store.db.selectFrom('webhook_events').select('status').where('id', '=', invalid.id).executeTakeFirstOrThrow(),
    ).toEqual({ status: 'dead' });
  });
});
