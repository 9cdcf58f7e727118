import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../../src/db/index.js';
import { EventQueue } from '../../../src/subscriptions/index.js';
import { BACKENDS, type TestDatabase } from '../../helpers/databases.js';
import {
  checkoutCompletedEvent,
  customerEvent,
  entitlementSummaryEvent,
  envelope,
  invoiceEvent,
  newId,
  nowSeconds,
  type StripeEventBody,
  type SubscriptionSpec,
  subscriptionEvent,
  subscriptionObject,
} from '../../helpers/events.js';
import { addUsers, drain, openDatabase, store } from '../../helpers/sync.js';

/** Everything sync wrote, without the columns that say when (they differ from run to run). */
async function records(db: Store) {
  const { db: q } = db;
  return {
    subscriptions: await q
      .selectFrom('subscriptions')
      .selectAll()
      .orderBy('id')
      .execute()
      .then((rows) => rows.map(({ updated_at: _, ...r }) => r)),
    customers: await q
      .selectFrom('customers')
      .selectAll()
      .orderBy('id')
      .execute()
      .then((rows) => rows.map(({ updated_at: _, ...r }) => r)),
    payments: await q
      .selectFrom('subscription_payments')
      .selectAll()
      .orderBy('subscription_id')
      .execute()
      .then((rows) => rows.map(({ updated_at: _, ...r }) => r)),
    history: await q
      .selectFrom('subscription_history')
      .select(['subscription_id', 'event_id', 'event_type', 'event_created', 'status_before', 'status_after', 'changes'])
      .orderBy('id')
      .execute(),
    observations: await q.selectFrom('subscription_observations').selectAll().orderBy('subscription_id').orderBy('event_id').execute(),
    events: await q
      .selectFrom('webhook_events')
      .select(['id', 'status', 'outcome', 'attempts', 'last_error', 'locked_by'])
      .orderBy('id')
      .execute(),
    attempts: await q.selectFrom('event_attempts').select(['event_id', 'attempt', 'outcome', 'error']).orderBy('id').execute(),
  };
}

/** A clock that moves on every reading, so that only events completed together share a time. */
function ticking(): () => number {
  let tick = Date.now();
  return () => ++tick;
}

describe.each(BACKENDS)('a group of events in one transaction, on $name', (backend) => {
  let grouped: { database: TestDatabase; store: Store };
  let oneByOne: { database: TestDatabase; store: Store };
  let outOfTime: { database: TestDatabase; store: Store };
  beforeAll(async () => {
    grouped = await openDatabase(backend);
    oneByOne = await openDatabase(backend);
    outOfTime = await openDatabase(backend);
  });
  afterAll(async () => {
    for (const { database, store: db } of [grouped, oneByOne, outOfTime]) {
      await db?.close();
      await database?.drop();
    }
  });

  it('on SQLite a group out of time ends at a multiple of 25 events; the rest are applied by the next groups', async () => {
    const t = nowSeconds() - 1000;
    const events = Array.from({ length: 60 }, () =>
      subscriptionEvent('created', { id: newId('sub'), customer: newId('cus'), status: 'active' }, t),
    );
    await store(outOfTime.store, events);
    const calls = await drain(outOfTime.store, { eventsPerTransaction: 100, groupBudgetMs: 0, now: ticking() });
    expect(calls).toEqual(new Map(events.map((event) => [event.id, 1])));
    const stored = await outOfTime.store.db
      .selectFrom('webhook_events')
      .select(['status', 'processed_at'])
      .where(
        'id',
        'in',
        events.map((e) => e.id),
      )
      .execute();
    expect(stored.every((row) => row.status === 'applied')).toBe(true);
    // Events completed by one group share `processed_at`: 25 + 25 + 10 on SQLite; PostgreSQL has no budget.
    const sizeByTime = new Map<number | null, number>();
    for (const row of stored) sizeByTime.set(row.processed_at, (sizeByTime.get(row.processed_at) ?? 0) + 1);
    const groupSizes = [...sizeByTime.values()].sort((a, b) => b - a);
    expect(groupSizes).toEqual(backend.name === 'sqlite' ? [25, 25, 10] : [60]);
  });

  it('ends with the records, history, observations and attempt logs of applying the events one by one', async () => {
    const t = nowSeconds() - 1000;
    const [known, other, unknown] = [newId('usr'), newId('usr'), newId('usr')] as const;
    const [cusA, cusB, cusC, cusD] = [newId('cus'), newId('cus'), newId('cus'), newId('cus')] as const;
    const sub = (customer: string, userId?: string): SubscriptionSpec => ({ id: newId('sub'), customer, status: 'active', userId });
    const [a, b, e, f, g] = [sub(cusA, known), sub(cusB, unknown), sub(cusC, known), sub(cusA, known), sub(cusD)] as const;
    const firstRound = [
      subscriptionEvent('created', a, t),
      subscriptionEvent('created', { ...b, status: 'trialing' }, t),
      customerEvent('created', { id: cusC, userId: other, created: t }),
      // Names another user than the one customer C is linked to just before it, in the same group.
      subscriptionEvent('created', e, t + 1),
      checkoutCompletedEvent({ customer: cusD, userId: known, subscription: g.id, created: t }),
      subscriptionEvent('created', f, t),
      subscriptionEvent('created', g, t),
      envelope('charge.succeeded', { object: 'charge', id: newId('ch'), customer: newId('cus') }, t),
    ];
    const secondRound = [
      subscriptionEvent('updated', { ...a, status: 'past_due' }, t + 2),
      subscriptionEvent('updated', b, t + 1),
      entitlementSummaryEvent({ customer: cusC, features: ['pro'], created: t + 2 }),
      customerEvent('deleted', { id: cusD, created: t + 2 }),
      invoiceEvent('paid', { subscription: f.id, customer: cusA, created: t + 1 }),
      subscriptionEvent('updated', { ...g, status: 'past_due' }, t + 1),
    ];
    const thirdRound = [
      invoiceEvent('payment_failed', { subscription: a.id, customer: cusA, created: t + 3 }),
      subscriptionEvent('updated', { ...g, status: 'active' }, t + 2),
    ];
    const events = [...firstRound, ...secondRound, ...thirdRound];
    // Replays of applied events and an event older than the applied one, all of different subscriptions or customers.
    const stale = subscriptionEvent('updated', { ...b, status: 'canceled' }, t);
    const again = [secondRound[0]!, firstRound[2]!, secondRound[4]!];

    // Events completed by one group share `processed_at`, events applied alone do not.
    const now = ticking();
    const runs = [
      { db: grouped.store, eventsPerTransaction: 25 },
      { db: oneByOne.store, eventsPerTransaction: 1 },
    ];
    const calls: Map<string, number>[] = [];
    for (const { db, ...options } of runs) {
      await addUsers(db, [known, other]);
      await store(db, events);
      calls.push(await drain(db, { ...options, now }));
      const queue = new EventQueue(db);
      for (const event of again) await queue.replay({ id: event.id });
      await store(db, [stale]);
      calls.push(await drain(db, { ...options, now }));
    }

    expect(await records(grouped.store)).toEqual(await records(oneByOne.store));

    // Every event was applied once, by a group: none fell back to being applied alone.
    const [firstDrain, secondDrain] = calls;
    expect(firstDrain).toEqual(new Map(events.map((event) => [event.id, 1])));
    expect(secondDrain).toEqual(new Map([...again, stale].map((event) => [event.id, 1])));
    const stored = await grouped.store.db.selectFrom('webhook_events').select(['id', 'processed_at', 'outcome']).execute();
    const processedAt = (ids: StripeEventBody[]) => new Set(ids.map((event) => stored.find((row) => row.id === event.id)!.processed_at));
    // (The replayed events were last completed by the second drain.)
    const firstDrainRounds = [firstRound, secondRound, thirdRound].map((round) => round.filter((event) => !again.includes(event)));
    for (const round of [...firstDrainRounds, [...again, stale]]) expect(processedAt(round).size).toBe(1);

    const outcomeOf = (event: StripeEventBody) => stored.find((row) => row.id === event.id)!.outcome;
    expect(outcomeOf(firstRound[1]!)).toMatch(/recorded as trialing/);
    expect(outcomeOf(firstRound[3]!)).toMatch(/recorded as active/);
    expect(outcomeOf(firstRound[7]!)).toBe('ignored: type not handled');
    expect(outcomeOf(again[0]!)).toMatch(/unchanged: already applied \(a replay\)/);
    expect(outcomeOf(again[1]!)).toMatch(new RegExp(`customer ${cusC} linked to user ${other}`));
    expect(outcomeOf(again[2]!)).toMatch(/not recorded: already recorded \(a replay\)/);
    expect(outcomeOf(stale)).toMatch(/unchanged: stale/);
    const customers = await grouped.store.db.selectFrom('customers').select(['id', 'user_id', 'deleted', 'features']).execute();
    expect(new Map(customers.map((c) => [c.id, c.user_id]))).toEqual(
      new Map([
        [cusA, known],
        [cusB, unknown],
        [cusC, other],
        [cusD, known],
      ]),
    );
    expect(customers.find((c) => c.id === cusD)!.deleted).toBe(1);
    expect(customers.find((c) => c.id === cusC)!.features).toBe('["pro"]');
  });

  it('an event that throws in a group leaves nothing behind; the others commit, and it is then recorded alone', async () => {
    const db = grouped.store;
    const t = nowSeconds() - 500;
    const user = newId('usr');
    await addUsers(db, [user]);
    const good = [
      subscriptionEvent('created', { id: newId('sub'), customer: newId('cus'), status: 'active' }, t),
      invoiceEvent('paid', { subscription: newId('sub'), customer: newId('cus'), created: t }),
    ];
    const invalid = envelope('customer.subscription.updated', { object: 'subscription', id: newId('sub') }, t);
    // Throws after its effects: a customer link, an observation, a record and its history row (buffered).
    const poisoned = subscriptionEvent('created', { id: newId('sub'), customer: newId('cus'), status: 'active', userId: user }, t);
    // Throws after a customer's deletion, buffered like every other write.
    const deletedCustomer = newId('cus');
    const deletion = customerEvent('deleted', { id: deletedCustomer, created: t });
    const sent = [good[0]!, invalid, poisoned, deletion, good[1]!];
    await store(db, sent);
    const failing = new Set([poisoned.id, deletion.id]);
    const calls = await drain(db, {
      eventsPerTransaction: 25,
      afterApply: (row) => {
        if (failing.has(row.id)) throw new Error('injected failure');
      },
    });

    const rows = await db.db
      .selectFrom('webhook_events')
      .selectAll()
      .where(
        'id',
        'in',
        sent.map((e) => e.id),
      )
      .execute();
    const byId = new Map(rows.map((row) => [row.id, row]));
    expect(good.map((e) => byId.get(e.id)!.status)).toEqual(['applied', 'applied']);
    expect(byId.get(invalid.id)).toMatchObject({ status: 'dead', attempts: 1 });
    expect(byId.get(invalid.id)!.last_error).toMatch(/data\.object\.customer/);
    expect(byId.get(poisoned.id)).toMatchObject({ status: 'failed', attempts: 1, last_error: 'injected failure' });
    expect(byId.get(deletion.id)).toMatchObject({ status: 'failed', attempts: 1, last_error: 'injected failure' });
    // The good events were committed by the group (applied once); the failing ones were tried there, then alone.
    expect(good.map((e) => calls.get(e.id))).toEqual([1, 1]);
    expect([poisoned, deletion].map((e) => calls.get(e.id))).toEqual([2, 2]);

    const poisonedSubscription = poisoned.data.object.id;
    expect(await db.db.selectFrom('subscriptions').select('id').where('id', '=', poisonedSubscription).execute()).toEqual([]);
    expect(
      await db.db.selectFrom('subscription_observations').select('event_id').where('subscription_id', '=', poisonedSubscription).execute(),
    ).toEqual([]);
    expect(
      await db.db
        .selectFrom('subscription_history')
        .select('event_id')
        .where('event_id', 'in', [invalid.id, poisoned.id, deletion.id])
        .execute(),
    ).toEqual([]);
    expect(
      await db.db.selectFrom('customers').select('id').where('id', 'in', [poisoned.data.object.customer, deletedCustomer]).execute(),
    ).toEqual([]);
    expect(
      (
        await db.db
          .selectFrom('subscription_history')
          .select('event_id')
          .where(
            'event_id',
            'in',
            good.map((e) => e.id),
          )
          .execute()
      ).length,
    ).toBe(2);
    const attempts = await db.db
      .selectFrom('event_attempts')
      .select(['event_id', 'outcome'])
      .where(
        'event_id',
        'in',
        sent.map((e) => e.id),
      )
      .execute();
    expect(attempts.map((a) => [a.event_id, a.outcome]).sort()).toEqual(
      [
        [good[0]!.id, 'applied'],
        [good[1]!.id, 'applied'],
        [invalid.id, 'dead'],
        [poisoned.id, 'failed'],
        [deletion.id, 'failed'],
      ].sort(),
    );
  });

  it('a lost lease rolls the whole group back; each event is then applied alone and the lost one is left to its new owner', async () => {
    const db = grouped.store;
    const t = nowSeconds() - 500;
    const specs = Array.from({ length: 4 }, (): SubscriptionSpec => ({ id: newId('sub'), customer: newId('cus'), status: 'active' }));
    const sent = specs.map((spec) => subscriptionEvent('created', spec, t));
    const victim = sent[1]!;
    await store(db, sent);
    let takenOver = false;
    const attempts: { outcome: string }[] = [];
    const calls = await drain(db, {
      eventsPerTransaction: 25,
      // Refetch mode reads each event's subscription before its transaction: another worker takes the victim over meanwhile.
      readSubscription: async (subscriptionId) => {
        if (subscriptionId === victim.data.object.id && !takenOver) {
          takenOver = true;
          await db.db.updateTable('webhook_events').set({ locked_by: 'another-worker' }).where('id', '=', victim.id).execute();
        }
        return subscriptionObject(specs.find((spec) => spec.id === subscriptionId)!);
      },
      onAttempt: (attempt) => attempts.push(attempt),
    });

    expect(takenOver).toBe(true);
    // Tried in the group, rolled back with it, then tried alone.
    expect(sent.map((e) => calls.get(e.id))).toEqual([2, 2, 2, 2]);
    const others = sent.filter((e) => e !== victim).map((e) => e.id);
    const rows = await db.db
      .selectFrom('webhook_events')
      .selectAll()
      .where(
        'id',
        'in',
        sent.map((e) => e.id),
      )
      .execute();
    expect(rows.filter((r) => others.includes(r.id)).map((r) => r.status)).toEqual(['applied', 'applied', 'applied']);
    expect(rows.find((r) => r.id === victim.id)).toMatchObject({ status: 'processing', locked_by: 'another-worker' });
    const history = await db.db
      .selectFrom('subscription_history')
      .select('event_id')
      .where(
        'event_id',
        'in',
        sent.map((e) => e.id),
      )
      .execute();
    expect(history.map((h) => h.event_id).sort()).toEqual([...others].sort());
    const logged = await db.db
      .selectFrom('event_attempts')
      .select(['event_id', 'outcome'])
      .where(
        'event_id',
        'in',
        sent.map((e) => e.id),
      )
      .execute();
    expect(logged.map((a) => [a.event_id, a.outcome]).sort()).toEqual(others.map((id) => [id, 'applied']).sort());
    expect(await db.db.selectFrom('subscriptions').select('id').where('id', '=', victim.data.object.id).execute()).toEqual([]);
    expect(attempts.filter((a) => a.outcome === 'lease_lost')).toHaveLength(1);
  });

  if (backend.name === 'postgres') {
    it('a customer linked by another transaction after the group read it rolls the group back; applied alone, the first link wins', async () => {
      const db = grouped.store;
      const second = await openStore(grouped.database.url);
      try {
        const t = nowSeconds() - 500;
        const [user, firstUser] = [newId('usr'), newId('usr')] as const;
        await addUsers(db, [user, firstUser]);
        const linking = subscriptionEvent('created', { id: newId('sub'), customer: newId('cus'), status: 'active', userId: user }, t);
        const sent = [linking, subscriptionEvent('created', { id: newId('sub'), customer: newId('cus'), status: 'active' }, t)];
        await store(db, sent);
        let linkedMeanwhile = false;
        const calls = await drain(db, {
          eventsPerTransaction: 25,
          afterApply: async (row) => {
            if (row.id !== linking.id || linkedMeanwhile) return;
            linkedMeanwhile = true;
            // Another connection links the customer first, while the group's link is still buffered.
            await second.db
              .insertInto('customers')
              .values({ id: linking.data.object.customer, user_id: firstUser, linked_by: 'elsewhere', deleted: 0, updated_at: Date.now() })
              .execute();
          },
        });
        expect(sent.map((e) => calls.get(e.id))).toEqual([2, 2]);
        const customer = await db.db
          .selectFrom('customers')
          .selectAll()
          .where('id', '=', linking.data.object.customer)
          .executeTakeFirstOrThrow();
        expect(customer).toMatchObject({ user_id: firstUser, linked_by: 'elsewhere' });
        const rows = await db.db
          .selectFrom('webhook_events')
          .select(['id', 'status'])
          .where(
            'id',
            'in',
            sent.map((e) => e.id),
          )
          .execute();
        expect(rows.map((r) => r.status)).toEqual(['applied', 'applied']);
        const history = await db.db
          .selectFrom('subscription_history')
          .select('event_id')
          .where(
            'event_id',
            'in',
            sent.map((e) => e.id),
          )
          .execute();
        expect(history).toHaveLength(2);
      } finally {
        await second.close();
      }
    });
  }
});
