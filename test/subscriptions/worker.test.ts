import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/db/index.js';
import { SyncWorker } from '../../src/subscriptions/index.js';
import { BACKENDS, type TestDatabase } from '../helpers/databases.js';
import { deliverAll, envelope, newId, nowSeconds, subscriptionEvent } from '../helpers/events.js';
import { type RunningService, startService } from '../helpers/service.js';

/** Exactly-once application, whoever drains the queue and however often. */
describe.each(BACKENDS)('sync worker on $name', (backend) => {
  let database: TestDatabase;
  let svc: RunningService;
  let secondStore: Store;

  beforeAll(async () => {
    database = await backend.create();
    svc = await startService(database);
    await svc.service.worker.stop(); // these tests drive processing themselves
    secondStore = await openStore(database.url);
  });
  afterAll(async () => {
    await secondStore?.close();
    await svc?.close();
    await database?.drop();
  });

  const quiet = pino({ level: 'silent' });

  async function historyCount(eventId: string): Promise<number> {
    return (await svc.store.db.selectFrom('subscription_history').select('id').where('event_id', '=', eventId).execute()).length;
  }

  it('processing the same stored row twice applies it once', async () => {
    const event = subscriptionEvent('created', { id: newId('sub'), customer: newId('cus'), status: 'active' }, nowSeconds());
    await deliverAll(svc.baseUrl, [event]);
    const row = await svc.store.db.selectFrom('webhook_events').selectAll().where('id', '=', event.id).executeTakeFirstOrThrow();
    const worker = new SyncWorker({ store: svc.store, logger: quiet, retrySchedule: [1000] });
    await worker.processEvent(row);
    await worker.processEvent(row);
    expect(await historyCount(event.id)).toBe(1);
    const after = await svc.store.db.selectFrom('webhook_events').selectAll().where('id', '=', event.id).executeTakeFirstOrThrow();
    expect(after).toMatchObject({ status: 'applied', attempts: 1 });
  });

  it('two workers on two connections draining one backlog apply every event exactly once', async () => {
    const t = nowSeconds() - 1000;
    const events = Array.from({ length: 60 }, (_, i) => {
      const spec = { id: newId('sub'), customer: newId('cus'), status: i % 3 === 0 ? 'canceled' : 'active' };
      return [subscriptionEvent('created', { ...spec, status: 'incomplete' }, t + i), subscriptionEvent('updated', spec, t + i + 1)];
    }).flat();
    await deliverAll(svc.baseUrl, events);
    const a = new SyncWorker({ store: svc.store, logger: quiet, retrySchedule: [1000] });
    const b = new SyncWorker({ store: secondStore, logger: quiet, retrySchedule: [1000] });
    await Promise.all([a.drain(), b.drain(), a.drain(), b.drain()]);
    const ids = events.map((e) => e.id);
    const history = await svc.store.db.selectFrom('subscription_history').select('event_id').where('event_id', 'in', ids).execute();
    expect(history.map((h) => h.event_id).sort()).toEqual([...ids].sort());
    const statuses = await svc.store.db.selectFrom('webhook_events').select(['status', 'attempts']).where('id', 'in', ids).execute();
    expect(statuses.every((s) => s.status === 'applied' && s.attempts === 1)).toBe(true);
  });

  it('an event that fails validation is dead at once with the reason; the next one still applies', async () => {
    const noCreated = { ...envelope('customer.subscription.updated', {}, 0), created: 'yesterday' };
    const noObject = envelope('customer.subscription.updated', { object: 'subscription', id: newId('sub') }, nowSeconds());
    const good = subscriptionEvent('updated', { id: newId('sub'), customer: newId('cus'), status: 'active' }, nowSeconds());
    await deliverAll(svc.baseUrl, [noCreated, noObject, good]);
    await new SyncWorker({ store: svc.store, logger: quiet, retrySchedule: [1000] }).drain();
    const rows = await svc.store.db.selectFrom('webhook_events').selectAll().where('id', 'in', [noCreated.id, noObject.id, good.id]).execute();
    const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
    expect(byId[noCreated.id]).toMatchObject({ status: 'dead', attempts: 1 });
    expect(byId[noCreated.id]!.last_error).toMatch(/^invalid event: created/);
    expect(byId[noObject.id]).toMatchObject({ status: 'dead' });
    expect(byId[noObject.id]!.last_error).toMatch(/data\.object\.customer/);
    expect(byId[good.id]).toMatchObject({ status: 'applied' });
  });
});
