import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store, type WebhookEventStatus } from '../../../src/db/index.js';
import { EventQueue, SyncWorker, WorkerLockError } from '../../../src/subscriptions/index.js';
import { webhookEventWriter } from '../../../src/webhooks/group-commit.js';
import { BACKENDS } from '../../helpers/databases.js';
import { deliverAll, envelope, newId, nowSeconds, subscriptionEvent } from '../../helpers/events.js';
import { useService } from '../../helpers/service.js';

const quiet = pino({ level: 'silent' });

/** Exactly-once application, whoever drains the queue and however often. */
describe.each(BACKENDS)('sync worker on $name', (backend) => {
  const context = useService(backend, { config: { processRole: 'intake' } });
  let secondStore: Store;
  const workers: SyncWorker[] = [];

  beforeAll(async () => {
    secondStore = await openStore(context.database.url);
  });
  afterEach(async () => {
    for (const worker of workers.splice(0)) await worker.stop();
  });
  afterAll(async () => {
    await secondStore?.close();
  });

  function worker(store: Store = context.svc.store, options: Partial<ConstructorParameters<typeof SyncWorker>[0]> = {}) {
    const created = new SyncWorker({ store, logger: quiet, retrySchedule: [1000], pollIntervalMs: 60_000, ...options });
    workers.push(created);
    return created;
  }

  async function events(ids: string[]) {
    return context.svc.store.db.selectFrom('webhook_events').selectAll().where('id', 'in', ids).execute();
  }

  async function historyOf(ids: string[]) {
    return context.svc.store.db.selectFrom('subscription_history').select('event_id').where('event_id', 'in', ids).orderBy('id').execute();
  }

  it('an event claimed and processed twice is applied once', async () => {
    const event = subscriptionEvent('created', { id: newId('sub'), customer: newId('cus'), status: 'active' }, nowSeconds());
    await deliverAll(context.svc.baseUrl, [event]);
    const w = worker();
    const [row] = await new EventQueue(context.svc.store).claim(w.owner, Date.now(), 60_000, 1_000);
    expect(row?.id).toBe(event.id);
    await w.processEvent(row!);
    await w.processEvent(row!);
    expect(await historyOf([event.id])).toHaveLength(1);
    expect((await events([event.id]))[0]).toMatchObject({ status: 'applied', attempts: 1, locked_by: null });
  });

  it('yields to a burst of deliveries while the backlog is young; works once intake is idle, or once the backlog reaches the limit', async () => {
    const newEvent = () => subscriptionEvent('created', { id: newId('sub'), customer: newId('cus'), status: 'active' }, nowSeconds());
    const statusOf = async (id: string) => (await events([id]))[0]?.status;
    let busy = true;
    const yields: { ms: number; ended: string }[] = [];
    const w = worker(context.svc.store, {
      intakePriority: { busy: () => busy, limitMs: 600, onYield: (ms, ended) => yields.push({ ms, ended }) },
    });
    // At start the age of what is stored is unknown, so it counts as old: no waiting.
    const stored = newEvent();
    await deliverAll(context.svc.baseUrl, [stored]);
    await w.start();
    await w.drain();
    expect(await statusOf(stored.id)).toBe('applied');
    expect(yields).toEqual([]);

    const duringBurst = newEvent();
    await deliverAll(context.svc.baseUrl, [duringBurst]);
    w.kick();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await statusOf(duringBurst.id)).toBe('pending');
    busy = false;
    await w.drain();
    expect(await statusOf(duringBurst.id)).toBe('applied');
    // (Each of PostgreSQL's lanes waits on its own.)
    expect(yields.length).toBeGreaterThan(0);
    expect(yields.every((y) => y.ended === 'intake_idle' && y.ms >= 150)).toBe(true);

    yields.length = 0;
    busy = true;
    const endlessBurst = newEvent();
    await deliverAll(context.svc.baseUrl, [endlessBurst]);
    const kickedAt = Date.now();
    await w.drain();
    expect(await statusOf(endlessBurst.id)).toBe('applied');
    expect(Date.now() - kickedAt).toBeGreaterThanOrEqual(550);
    expect(yields.length).toBeGreaterThan(0);
    expect(yields.every((y) => y.ended === 'limit' && y.ms >= 550)).toBe(true);
  });

  it('events of one subscription are applied in created order, whatever their arrival order', async () => {
    const t = nowSeconds() - 100;
    const spec = { id: newId('sub'), customer: newId('cus') };
    const sent = [
      subscriptionEvent('updated', { ...spec, status: 'past_due' }, t + 3),
      subscriptionEvent('updated', { ...spec, status: 'active' }, t + 1),
      subscriptionEvent('updated', { ...spec, status: 'active', priceId: 'price_pro' }, t + 2),
    ];
    await deliverAll(context.svc.baseUrl, sent);
    await worker().start();
    await workers.at(-1)!.drain();
    const history = await historyOf(sent.map((e) => e.id));
    expect(history.map((h) => h.event_id)).toEqual([sent[1]!.id, sent[2]!.id, sent[0]!.id]);
  });

  if (backend.name === 'postgres') {
    it('two workers on two connections draining one backlog apply every event exactly once', async () => {
      const t = nowSeconds() - 1000;
      const sent = Array.from({ length: 60 }, (_, i) => {
        const spec = { id: newId('sub'), customer: newId('cus'), status: i % 3 === 0 ? 'canceled' : 'active' };
        return [subscriptionEvent('created', { ...spec, status: 'incomplete' }, t + i), subscriptionEvent('updated', spec, t + i + 1)];
      }).flat();
      await deliverAll(context.svc.baseUrl, sent);
      const [a, b] = [worker(context.svc.store, { concurrency: 4 }), worker(secondStore, { concurrency: 4 })];
      await Promise.all([a.start(), b.start()]);
      await Promise.all([a.drain(), b.drain(), a.drain(), b.drain()]);
      const ids = sent.map((e) => e.id);
      expect((await historyOf(ids)).map((h) => h.event_id).sort()).toEqual([...ids].sort());
      expect((await events(ids)).every((e) => e.status === 'applied' && e.attempts === 1)).toBe(true);
    });
  } else {
    it('a second worker on the same SQLite file refuses to run, with a clear message', async () => {
      const first = worker();
      await first.start();
      await expect(worker(secondStore).start()).rejects.toThrow(WorkerLockError);
      await expect(worker(secondStore).start()).rejects.toThrow(/SQLite supports one worker process.*--no-worker.*PostgreSQL/);
      await first.stop();
      // Once the first one stops, another may take over.
      await worker(secondStore).start();
    });
  }

  it('an event that fails validation is dead at once with the reason; the next one still applies', async () => {
    const noCreated = { ...envelope('customer.subscription.updated', {}, 0), created: 'yesterday' };
    const noObject = envelope('customer.subscription.updated', { object: 'subscription', id: newId('sub') }, nowSeconds());
    const good = subscriptionEvent('updated', { id: newId('sub'), customer: newId('cus'), status: 'active' }, nowSeconds());
    await deliverAll(context.svc.baseUrl, [noCreated, noObject, good]);
    const w = worker();
    await w.start();
    await w.drain();
    const byId = Object.fromEntries((await events([noCreated.id, noObject.id, good.id])).map((r) => [r.id, r]));
    expect(byId[noCreated.id]).toMatchObject({ status: 'dead', attempts: 1 });
    expect(byId[noCreated.id]!.last_error).toMatch(/^invalid event: created/);
    expect(byId[noObject.id]).toMatchObject({ status: 'dead' });
    expect(byId[noObject.id]!.last_error).toMatch(/data\.object\.customer/);
    expect(byId[good.id]).toMatchObject({ status: 'applied' });
  });

  it('an event whose payload row is missing is dead at once with the reason', async () => {
    const id = newId('evt');
    await context.svc.store.db
      .insertInto('webhook_events')
      .values({
        id,
        type: 'customer.subscription.updated',
        api_version: null,
        livemode: 0,
        created: 1,
        received_at: Date.now(),
        status: 'pending',
        attempts: 0,
        ordering_key: newId('sub'),
      })
      .execute();
    await worker().drain();
    expect(await events([id])).toEqual([
      expect.objectContaining({ status: 'dead', last_error: 'invalid event: its payload is not stored' }),
    ]);
  });

  it('prunes applied and ignored events past the retention, keeps dead and recent ones', async () => {
    const old = Date.now() - 31 * 86_400_000;
    const base = { type: 'x', api_version: null, livemode: 0, created: 1, payload: '{}', attempts: 1, ordering_key: null };
    const rows = (['applied', 'ignored', 'dead'] as const).map((status) => ({ ...base, id: newId('evt'), status, received_at: old }));
    const recent = { ...base, id: newId('evt'), status: 'applied' as const, received_at: Date.now() };
    const ids = [...rows, recent].map((r) => r.id);
    await webhookEventWriter(context.svc.store)([...rows, recent]);
    await worker(context.svc.store, { retentionDays: 30 }).start();
    await expect.poll(async () => (await events(ids)).map((r) => r.status).sort()).toEqual(['applied', 'dead']);
    const payloadsLeft = await context.svc.store.db
      .selectFrom('webhook_event_payloads')
      .select('event_id')
      .where('event_id', 'in', ids)
      .execute();
    expect(payloadsLeft.map((p) => p.event_id).sort()).toEqual([rows[2]!.id, recent.id].sort());
  });
  it('applies events of different subscriptions together; one failing event is retried alone and the others still commit', async () => {
    const sent = Array.from({ length: 5 }, () =>
      subscriptionEvent('created', { id: newId('sub'), customer: newId('cus'), status: 'active' }, nowSeconds()),
    );
    await deliverAll(context.svc.baseUrl, sent);
    const failing = sent[2]!.id;
    const applyCalls: string[] = [];
    const w = worker(context.svc.store, {
      eventsPerTransaction: 10,
      afterApply: async (row) => {
        applyCalls.push(row.id);
        if (row.id === failing) throw new Error('injected failure');
      },
    });
    await w.drain();
    const rows = await events(sent.map((e) => e.id));
    const statusOf = (id: string) => rows.find((r) => r.id === id)!.status;
    expect(sent.filter((e) => e.id !== failing).map((e) => statusOf(e.id))).toEqual(['applied', 'applied', 'applied', 'applied']);
    expect(rows.find((r) => r.id === failing)).toMatchObject({ status: 'failed', attempts: 1, last_error: 'injected failure' });
    // Tried once inside the shared transaction, then once alone, where its failure was recorded.
    expect(applyCalls.filter((id) => id === failing)).toHaveLength(2);
    expect(applyCalls.filter((id) => id !== failing)).toHaveLength(4);
    const attempts = await context.svc.store.db
      .selectFrom('event_attempts')
      .select(['event_id', 'outcome'])
      .where(
        'event_id',
        'in',
        sent.map((e) => e.id),
      )
      .execute();
    expect(attempts.map((a) => [a.event_id, a.outcome]).sort()).toEqual(
      sent.map((e) => [e.id, e.id === failing ? 'failed' : 'applied']).sort(),
    );
    expect(await historyOf(sent.map((e) => e.id))).toHaveLength(4);
  });

  // SQLite applies with one lane, so only PostgreSQL has lanes that could wait for each other.
  it.runIf(backend.name === 'postgres')('lanes do not wait for a slow group: later events are claimed and applied meanwhile', async () => {
    const t = nowSeconds() - 50;
    const sent = Array.from({ length: 8 }, (_, i) =>
      subscriptionEvent('created', { id: newId('sub'), customer: newId('cus'), status: 'active' }, t + i),
    );
    await deliverAll(context.svc.baseUrl, sent);
    const slow = sent[0]!.id;
    // At most 4 events per claim: these come from a later claim than the slow one.
    const fromLaterClaim = new Set(sent.slice(4).map((e) => e.id));
    let releaseSlow!: () => void;
    const laterApplied = new Promise<void>((resolve) => (releaseSlow = resolve));
    const finished: string[] = [];
    const w = worker(context.svc.store, {
      batchSize: 4,
      concurrency: 4,
      eventsPerTransaction: 1,
      afterApply: async (row) => {
        // Held until a later claim's event is applied, or 2 s when lanes wait for each other.
        if (row.id === slow) await Promise.race([laterApplied, new Promise((resolve) => setTimeout(resolve, 2000))]);
        if (fromLaterClaim.has(row.id)) releaseSlow();
        finished.push(row.id);
      },
    });
    await w.drain();
    expect((await events(sent.map((e) => e.id))).map((r) => r.status)).toEqual(sent.map(() => 'applied'));
    expect(finished.findIndex((id) => fromLaterClaim.has(id))).toBeLessThan(finished.indexOf(slow));
  });

  describe('claim', () => {
    const now = Date.now();
    const queued: string[] = [];
    afterEach(async () => {
      await context.svc.store.db.deleteFrom('webhook_events').where('id', 'in', queued.splice(0)).execute();
    });

    /** A queued event of `key` (created long ago, so older than anything else waiting). */
    function queuedEvent(
      key: string,
      created: number,
      fields: Partial<{ status: WebhookEventStatus; received_at: number; next_attempt_at: number; lease_until: number }> = {},
    ) {
      const id = newId('evt');
      queued.push(id);
      const row = { id, type: 'customer.subscription.updated', api_version: null, livemode: 0, created, attempts: 0, ordering_key: key };
      return {
        ...row,
        status: 'pending' as WebhookEventStatus,
        received_at: now,
        locked_by: fields.lease_until ? 'another-worker' : null,
        ...fields,
      };
    }

    async function claimed(limit: number) {
      const rows = await new EventQueue(context.svc.store).claim('me', now, 60_000, limit);
      return rows.filter((r) => queued.includes(r.id)).map((r) => r.id);
    }

    it('takes one event per subscription, its oldest, and none held back by an older pending or in-process event', async () => {
      const [a, b, c, d, e, f] = Array.from({ length: 6 }, () => newId('sub'));
      const rows = {
        a1: queuedEvent(a!, 10),
        a2: queuedEvent(a!, 11),
        a3: queuedEvent(a!, 12, { status: 'failed', next_attempt_at: now - 1 }),
        bHeld: queuedEvent(b!, 10, { status: 'processing', lease_until: now + 60_000 }),
        b2: queuedEvent(b!, 11),
        cFirst: queuedEvent(c!, 13, { received_at: now - 1 }),
        cSecond: queuedEvent(c!, 13),
        dTie1: queuedEvent(d!, 14),
        dTie2: queuedEvent(d!, 14),
        // A failed event waiting for its retry holds nothing back; a due one is applied first, alone.
        eLater: queuedEvent(e!, 10, { status: 'failed', next_attempt_at: now + 60_000 }),
        e2: queuedEvent(e!, 11),
        fRetry: queuedEvent(f!, 10, { status: 'failed', next_attempt_at: now - 1 }),
        f2: queuedEvent(f!, 11),
      };
      await context.svc.store.db.insertInto('webhook_events').values(Object.values(rows)).execute();
      const got = await claimed(1_000);
      const idsOf = (...names: (keyof typeof rows)[]) => names.map((n) => rows[n].id);
      expect(got.filter((id) => !idsOf('dTie1', 'dTie2').includes(id)).sort()).toEqual(idsOf('a1', 'fRetry', 'e2', 'cFirst').sort());
      expect(got.filter((id) => idsOf('dTie1', 'dTie2').includes(id))).toHaveLength(1);
    });

    it('takes pending, due failed and expired in-process events together, oldest first, up to the limit', async () => {
      const [e, f, g] = Array.from({ length: 3 }, () => newId('sub'));
      const rows = {
        expired: queuedEvent(e!, 1, { status: 'processing', lease_until: now - 1 }),
        afterExpired: queuedEvent(e!, 2),
        due: queuedEvent(f!, 3, { status: 'failed', next_attempt_at: now - 1 }),
        pending: queuedEvent(g!, 4),
      };
      await context.svc.store.db.insertInto('webhook_events').values(Object.values(rows)).execute();
      expect(await claimed(2)).toEqual([rows.expired.id, rows.due.id]);
      expect((await events([rows.expired.id]))[0]).toMatchObject({
        status: 'processing',
        locked_by: 'me',
        lease_until: now + 60_000,
        attempts: 1,
      });
      // The expired event is in process again (by "me"), so the one after it still waits.
      expect(await claimed(1_000)).toEqual([rows.pending.id]);
    });
  });
});
