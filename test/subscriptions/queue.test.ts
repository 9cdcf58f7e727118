import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store, type WebhookEventRow } from '../../src/db/index.js';
import { EventQueue } from '../../src/subscriptions/index.js';
import { BACKENDS, type TestDatabase } from '../helpers/databases.js';
import { invoiceEvent, newId, nowSeconds, serialize, subscriptionEvent } from '../helpers/events.js';
import { openDatabase, store } from '../helpers/sync.js';

/** The queue's clock in these tests (ms): rows are written relative to it, and claims are made at it. */
const NOW = 1_800_000_000_000;
const LEASE = 60_000;

/** A webhook_events row as it would stand in the queue; `key` is its ordering key, `created` Stripe's seconds. */
function row(key: string | null, created: number, fields: Partial<WebhookEventRow> = {}): WebhookEventRow {
  const queued = {
    id: newId('evt'),
    type: 'customer.subscription.updated',
    api_version: null,
    livemode: 0,
    created,
    received_at: NOW - 10_000,
  };
  const state = { status: 'pending', attempts: 0, last_error: null, next_attempt_at: null, processed_at: null, outcome: null } as const;
  return { ...queued, ...state, ordering_key: key, locked_by: null, lease_until: null, ...fields };
}

/** In process by `owner` until `leaseUntil`, after `attempts` claims. */
const processing = (owner: string, leaseUntil: number, attempts = 1): Partial<WebhookEventRow> => ({
  status: 'processing',
  locked_by: owner,
  lease_until: leaseUntil,
  attempts,
});

const ids = (rows: readonly { id: string }[]) => rows.map((r) => r.id);

describe.each(BACKENDS)('EventQueue on $name', (backend) => {
  let database: TestDatabase;
  let db: Store;
  let queue: EventQueue;

  beforeAll(async () => {
    ({ database, store: db } = await openDatabase(backend));
    queue = new EventQueue(db);
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });
  beforeEach(async () => {
    await db.db.deleteFrom('event_attempts').execute();
    await db.db.deleteFrom('webhook_event_payloads').execute();
    await db.db.deleteFrom('webhook_events').execute();
  });

  /** Written in reverse, so that no order the test expects is the order of insertion. */
  async function insert(...rows: WebhookEventRow[]) {
    const reversed = [...rows].reverse();
    await db.db.insertInto('webhook_events').values(reversed).execute();
    await db.db
      .insertInto('webhook_event_payloads')
      .values(reversed.map((r) => ({ event_id: r.id, payload: JSON.stringify({ id: r.id }) })))
      .execute();
  }

  async function get(id: string) {
    return db.db.selectFrom('webhook_events').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  }

  const claim = async (at = NOW, limit = 100, owner = 'me') => ids(await queue.claim(owner, at, LEASE, limit));

  describe('claim', () => {
    it('takes the oldest created first, then the earliest arrival, up to the limit', async () => {
      const r = [
        row(null, 30),
        row(null, 10, { received_at: NOW - 5 }),
        row(null, 10, { received_at: NOW - 9 }),
        row(null, 20),
        row(null, 10, { received_at: NOW - 7 }),
      ];
      await insert(...r);
      expect(await claim(NOW, 2)).toEqual(ids([r[2]!, r[4]!]));
      expect(await claim(NOW, 2)).toEqual(ids([r[1]!, r[3]!]));
      expect(await claim(NOW, 2)).toEqual(ids([r[0]!]));
      expect(await claim(NOW, 2)).toEqual([]);
    });

    it('the limit picks the oldest among pending, due failed and expired events alike', async () => {
      const r = {
        failed: row('a', 5, { status: 'failed', attempts: 1, next_attempt_at: NOW - 1 }),
        pending: row('b', 6),
        expired: row('c', 7, processing('gone', NOW - 1)),
        newest: row('d', 8),
      };
      await insert(...Object.values(r));
      expect(await claim(NOW, 2)).toEqual(ids([r.failed, r.pending]));
      expect(await claim(NOW, 1)).toEqual(ids([r.expired]));
    });

    it('takes at most one event per ordering key, its oldest; the limit counts claimed events only', async () => {
      const r = {
        a12: row('a', 12),
        a10: row('a', 10),
        a11: row('a', 11),
        // A due retry holds nothing back, so a10 is in the scan too, and the key's second.
        aRetry: row('a', 9, { status: 'failed', attempts: 1, next_attempt_at: NOW - 1 }),
        bLate: row('b', 10, { received_at: NOW - 1 }),
        bEarly: row('b', 10, { received_at: NOW - 2 }),
        loose: row(null, 13),
      };
      await insert(...Object.values(r));
      expect(await claim(NOW, 2)).toEqual(ids([r.aRetry, r.bEarly]));
      // The rest of a and b waits while their oldest events are in process.
      expect(await claim()).toEqual(ids([r.loose]));
      await db.db
        .updateTable('webhook_events')
        .set({ status: 'applied', locked_by: null, lease_until: null })
        .where('id', '=', r.aRetry.id)
        .execute();
      expect(await claim()).toEqual(ids([r.a10]));
    });

    it('an older pending or in-process event of the key holds an event back; failed, dead and finished ones do not; null keys never wait', async () => {
      const live = processing('other', NOW + LEASE);
      const r = {
        pendingOlder: row('p', 10),
        pendingNewer: row('p', 11, { status: 'failed', attempts: 1, next_attempt_at: NOW - 1 }),
        inProcess: row('q', 10, live),
        heldByProcess: row('q', 11),
        sameSecondEarlier: row('s', 10, { ...live, received_at: NOW - 9 }),
        heldSameSecond: row('s', 10, { received_at: NOW - 8 }),
        sameSecondLater: row('t', 10, { ...live, received_at: NOW - 8 }),
        notHeldSameSecond: row('t', 10, { received_at: NOW - 9 }),
        newerInProcess: row('u', 20, live),
        olderThanInProcess: row('u', 19),
        failedWaiting: row('f', 10, { status: 'failed', attempts: 1, next_attempt_at: NOW + LEASE }),
        afterFailed: row('f', 11),
        dead: row('d', 10, { status: 'dead', attempts: 3 }),
        afterDead: row('d', 11),
        applied: row('g', 10, { status: 'applied', attempts: 1 }),
        ignored: row('g', 11, { status: 'ignored', attempts: 1 }),
        afterFinished: row('g', 12),
        looseInProcess: row(null, 10, live),
        loose1: row(null, 11),
        loose2: row(null, 12),
      };
      await insert(...Object.values(r));
      const got = await claim();
      expect([...got].sort()).toEqual(
        ids([
          r.pendingOlder,
          r.notHeldSameSecond,
          r.olderThanInProcess,
          r.afterFailed,
          r.afterDead,
          r.afterFinished,
          r.loose1,
          r.loose2,
        ]).sort(),
      );
      // Now pendingOlder is in process, so the failed event after it is still held back.
      expect(await claim()).toEqual([]);
    });

    it('of two events of a key tied on created and arrival, a claim takes one', async () => {
      const ties = [row('c', 14), row('c', 14)];
      await insert(...ties);
      const got = await claim();
      expect(got).toHaveLength(1);
      expect(ids(ties)).toContain(got[0]);
    });

    it("with a limit, a due retry is not taken ahead of its key's older pending event", async () => {
      const r = {
        x1: row('x', 1),
        x2: row('x', 2),
        k5: row('k', 5),
        k6: row('k', 6, { status: 'failed', attempts: 1, next_attempt_at: NOW - 1 }),
      };
      await insert(...Object.values(r));
      expect(await claim(NOW, 2)).toEqual(ids([r.x1, r.k5]));
    });

    it('a failed event is due once next_attempt_at <= now', async () => {
      const r = {
        past: row('a', 1, { status: 'failed', attempts: 1, next_attempt_at: NOW - 1 }),
        now: row('b', 2, { status: 'failed', attempts: 2, next_attempt_at: NOW }),
        later: row('c', 3, { status: 'failed', attempts: 1, next_attempt_at: NOW + 1 }),
      };
      await insert(...Object.values(r));
      expect(await claim()).toEqual(ids([r.past, r.now]));
      expect(await get(r.now.id)).toMatchObject({ status: 'processing', attempts: 3, locked_by: 'me', lease_until: NOW + LEASE });
      expect(await claim(NOW + 1)).toEqual(ids([r.later]));
    });

    it('an expired lease (lease_until < now) is taken over and counts an attempt; a live one is not', async () => {
      const r = {
        expired: row('a', 1, processing('crashed', NOW - 1, 2)),
        endsNow: row('b', 2, processing('other', NOW)),
        live: row('c', 3, processing('other', NOW + 1)),
      };
      await insert(...Object.values(r));
      expect(await claim()).toEqual(ids([r.expired]));
      expect(await get(r.expired.id)).toMatchObject({ status: 'processing', attempts: 3, locked_by: 'me', lease_until: NOW + LEASE });
      expect(await claim(NOW + 1, 100, 'next')).toEqual(ids([r.endsNow]));
      expect(await get(r.endsNow.id)).toMatchObject({ attempts: 2, locked_by: 'next' });
      expect(await get(r.live.id)).toMatchObject({ attempts: 1, locked_by: 'other', lease_until: NOW + 1 });
    });

    it('claimed events come back with their payload as stored by intake, and the ordering key intake gave them', async () => {
      const t = nowSeconds() - 100;
      const [sub, other] = [newId('sub'), newId('sub')];
      const sent = [
        subscriptionEvent('updated', { id: sub, customer: newId('cus'), status: 'active' }, t + 1),
        subscriptionEvent('created', { id: sub, customer: newId('cus'), status: 'incomplete' }, t),
        invoiceEvent('paid', { subscription: other, customer: newId('cus'), created: t + 2 }),
      ];
      await store(db, sent);
      const claimed = await queue.claim('me', Date.now(), LEASE, 10);
      expect(claimed.map((r) => [r.id, r.ordering_key, r.payload])).toEqual([
        [sent[1]!.id, sub, serialize(sent[1])],
        [sent[2]!.id, other, serialize(sent[2])],
      ]);
      expect(claimed.map((r) => [r.status, r.attempts, r.locked_by])).toEqual([
        ['processing', 1, 'me'],
        ['processing', 1, 'me'],
      ]);
    });

    it('an event whose payload row is missing comes back with a null payload', async () => {
      const lone = row('a', 1);
      await db.db.insertInto('webhook_events').values(lone).execute();
      expect((await queue.claim('me', NOW, LEASE, 10)).map((r) => [r.id, r.payload])).toEqual([[lone.id, null]]);
    });

    it.runIf(backend.name === 'postgres')('concurrent claims on separate connections never take one event twice', async () => {
      const rows = Array.from({ length: 40 }, (_, i) => row(i % 2 === 0 ? null : newId('sub'), i));
      await insert(...rows);
      const second = await openStore(database.url);
      try {
        const queues = [queue, new EventQueue(second)];
        const results = await Promise.all(Array.from({ length: 8 }, (_, i) => queues[i % 2]!.claim(`w${i}`, NOW, LEASE, 10)));
        const all = results.flatMap(ids);
        expect(all.length).toBeGreaterThan(0);
        expect(new Set(all).size).toBe(all.length);
        const stored = new Map(
          (await db.db.selectFrom('webhook_events').select(['id', 'locked_by', 'attempts']).execute()).map((r) => [r.id, r]),
        );
        results.forEach((claimed, i) => {
          for (const r of claimed) expect(stored.get(r.id)).toEqual({ id: r.id, locked_by: `w${i}`, attempts: 1 });
        });
      } finally {
        await second.close();
      }
    });
  });

  it('fail: the lease holder records failed with the next attempt time, or dead; anyone else changes nothing', async () => {
    const r = [row('a', 1), row('b', 2), row('c', 3)];
    await insert(...r);
    const [a, b, c] = await queue.claim('me', NOW, LEASE, 10);
    await queue.fail(a!, 'me', 'boom', NOW + 5_000);
    await queue.fail(b!, 'me', 'gone for good', null);
    await queue.fail(c!, 'someone-else', 'not mine', NOW + 5_000);
    expect(await get(a!.id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      last_error: 'boom',
      next_attempt_at: NOW + 5_000,
      locked_by: null,
      lease_until: null,
    });
    expect(await get(b!.id)).toMatchObject({
      status: 'dead',
      attempts: 1,
      last_error: 'gone for good',
      next_attempt_at: null,
      locked_by: null,
      lease_until: null,
    });
    expect(await get(c!.id)).toMatchObject({
      status: 'processing',
      last_error: null,
      next_attempt_at: null,
      locked_by: 'me',
      lease_until: NOW + LEASE,
    });
    expect(await claim(NOW + 4_999)).toEqual([]);
    expect(await claim(NOW + 5_000)).toEqual([a!.id]);
  });

  it("release: the owner's claimed events go back to pending with their attempt count restored; others' stay", async () => {
    const r = { fresh: row('a', 1), retried: row('b', 2, processing('crashed', NOW - 1, 2)), mine: row('c', 3), theirs: row('d', 4) };
    await insert(...Object.values(r));
    expect(await claim(NOW, 3)).toEqual(ids([r.fresh, r.retried, r.mine]));
    expect(await claim(NOW, 1, 'other')).toEqual([r.theirs.id]);
    await queue.release([r.fresh.id, r.retried.id, r.theirs.id], 'me');
    await queue.release([], 'me');
    const pending = { status: 'pending', locked_by: null, lease_until: null };
    expect(await get(r.fresh.id)).toMatchObject({ ...pending, attempts: 0 });
    expect(await get(r.retried.id)).toMatchObject({ ...pending, attempts: 2 });
    expect(await get(r.mine.id)).toMatchObject({ status: 'processing', locked_by: 'me', attempts: 1 });
    expect(await get(r.theirs.id)).toMatchObject({ status: 'processing', locked_by: 'other', attempts: 1 });
    expect(await claim(NOW, 10, 'later')).toEqual(ids([r.fresh, r.retried]));
  });

  it('replay: by id or by status, with a fresh retry budget; never an event in process', async () => {
    const r = {
      dead: row('a', 1, { status: 'dead', attempts: 5, last_error: 'x' }),
      dead2: row('b', 2, { status: 'dead', attempts: 3, last_error: 'y' }),
      failed: row('c', 3, { status: 'failed', attempts: 2, next_attempt_at: NOW + LEASE }),
      applied: row('d', 4, { status: 'applied', attempts: 1, processed_at: NOW - 1, outcome: 'done' }),
      inProcess: row('e', 5, processing('other', NOW + LEASE)),
    };
    await insert(...Object.values(r));
    const fresh = { status: 'pending', attempts: 0, next_attempt_at: null, locked_by: null, lease_until: null };
    expect(await queue.replay({ id: r.failed.id })).toEqual([r.failed.id]);
    expect(await get(r.failed.id)).toMatchObject(fresh);
    expect(await queue.replay({ id: r.inProcess.id })).toEqual([]);
    expect(await queue.replay({ status: 'processing' })).toEqual([]);
    expect(await get(r.inProcess.id)).toMatchObject({ status: 'processing', attempts: 1, locked_by: 'other', lease_until: NOW + LEASE });
    expect(await queue.replay({ id: newId('evt') })).toEqual([]);
    expect((await queue.replay({ status: 'dead' })).sort()).toEqual(ids([r.dead, r.dead2]).sort());
    expect(await get(r.dead.id)).toMatchObject(fresh);
    expect(await get(r.dead2.id)).toMatchObject(fresh);
    expect(await get(r.applied.id)).toMatchObject({ status: 'applied' });
    expect(await queue.replay({ id: r.applied.id })).toEqual([r.applied.id]);
    expect(await get(r.applied.id)).toMatchObject(fresh);
    expect(await claim()).toEqual(ids([r.dead, r.dead2, r.failed, r.applied]));
  });

  it('expireAllLeases ends every lease now, and only those: the events are claimable at once', async () => {
    const r = {
      w1: row('a', 1, processing('w1', NOW + LEASE, 1)),
      w2: row('b', 2, processing('w2', NOW + 2 * LEASE, 3)),
      pending: row('c', 3),
      failed: row('d', 4, { status: 'failed', attempts: 1, next_attempt_at: NOW + LEASE }),
    };
    await insert(...Object.values(r));
    expect(await claim()).toEqual([r.pending.id]);
    expect(await queue.expireAllLeases()).toBe(3);
    expect(await get(r.w1.id)).toMatchObject({ status: 'processing', locked_by: 'w1', lease_until: 0 });
    expect(await get(r.failed.id)).toMatchObject({ status: 'failed', lease_until: null, next_attempt_at: NOW + LEASE });
    expect(await claim(NOW, 10, 'restarted')).toEqual(ids([r.w1, r.w2, r.pending]));
    expect((await Promise.all(ids([r.w1, r.w2, r.pending]).map(get))).map((e) => [e.attempts, e.locked_by])).toEqual([
      [2, 'restarted'],
      [4, 'restarted'],
      [2, 'restarted'],
    ]);
  });
});
