import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NewWebhookEvent, openStore, type Store } from '../../src/db/index.js';
import { type BatchWriter, distinctRows, GroupCommit, outcomesOf, webhookEventWriter } from '../../src/webhooks/group-commit.js';
import { BACKENDS, type TestDatabase } from '../helpers/databases.js';
import { deliver, newId, nowSeconds, subscriptionEvent } from '../helpers/events.js';
import { useService } from '../helpers/service.js';

function row(id: string, extra: Partial<NewWebhookEvent> = {}): NewWebhookEvent {
  return {
    id,
    type: 'customer.subscription.updated',
    api_version: null,
    livemode: 0,
    created: 1,
    received_at: 1,
    payload: '{}',
    status: 'pending',
    attempts: 0,
    ordering_key: null,
    ...extra,
  };
}

describe('group commit decisions', () => {
  it('writes the first row of each id only', () => {
    expect(distinctRows([row('a'), row('b'), row('a', { created: 2 }), row('c'), row('b')]).map((r) => [r.id, r.created])).toEqual([
      ['a', 1],
      ['b', 1],
      ['c', 1],
    ]);
  });

  it.each([
    ['all new', ['a', 'b'], ['a', 'b'], ['stored', 'stored']],
    ['one already stored', ['a', 'b'], ['b'], ['duplicate', 'stored']],
    ['the same id twice in one batch', ['a', 'a', 'b'], ['a', 'b'], ['stored', 'duplicate', 'stored']],
    ['the same stored id twice', ['a', 'a'], [], ['duplicate', 'duplicate']],
  ])('answers each delivery: %s', (_name, ids, inserted, expected) => {
    expect(
      outcomesOf(
        ids.map((id) => row(id)),
        new Set(inserted),
      ),
    ).toEqual(expected);
  });
});

describe('GroupCommit', () => {
  it('writes deliveries that arrive during a write together in the next write, and answers each after its own write', async () => {
    const writes: string[][] = [];
    let release!: () => void;
    const writer: BatchWriter = async (rows) => {
      writes.push(rows.map((r) => r.id));
      if (writes.length === 1) await new Promise<void>((resolve) => (release = resolve));
      return new Set(rows.map((r) => r.id));
    };
    const commit = new GroupCommit(writer);
    const settled: string[] = [];
    const first = commit.store(row('a')).then((o) => settled.push(`a:${o}`));
    await new Promise((resolve) => setImmediate(resolve));
    const rest = ['b', 'c', 'b'].map((id) => commit.store(row(id)).then((o) => settled.push(`${id}:${o}`)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toEqual([['a']]);
    expect(settled).toEqual([]);
    release();
    await Promise.all([first, ...rest]);
    expect(writes).toEqual([['a'], ['b', 'c']]);
    expect(settled).toEqual(['a:stored', 'b:stored', 'c:stored', 'b:duplicate']);
  });

  it('rejects every delivery of a failed write, and keeps serving the next ones', async () => {
    let fail = true;
    const writer: BatchWriter = async (rows) => {
      await new Promise((resolve) => setImmediate(resolve));
      if (fail) throw new Error('disk full');
      return new Set(rows.map((r) => r.id));
    };
    const commit = new GroupCommit(writer);
    const failed = await Promise.allSettled(['a', 'b', 'c'].map((id) => commit.store(row(id))));
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    fail = false;
    expect(await commit.store(row('d'))).toBe('stored');
  });

  it('writes deliveries that arrive in the same event-loop turn in one write', async () => {
    const writes: string[][] = [];
    const commit = new GroupCommit(async (rows) => {
      writes.push(rows.map((r) => r.id));
      return new Set(rows.map((r) => r.id));
    });
    expect(await Promise.all(['a', 'b', 'c'].map((id) => commit.store(row(id))))).toEqual(['stored', 'stored', 'stored']);
    expect(writes).toEqual([['a', 'b', 'c']]);
  });

  it('caps a batch at maxBatch rows', async () => {
    const sizes: number[] = [];
    const commit = new GroupCommit(async (rows) => {
      sizes.push(rows.length);
      await new Promise((resolve) => setImmediate(resolve));
      return new Set(rows.map((r) => r.id));
    }, 3);
    await Promise.all(Array.from({ length: 8 }, (_, i) => commit.store(row(`e${i}`))));
    expect(sizes).toEqual([3, 3, 2]);
  });
});

describe.each(BACKENDS)('group commit on $name', (backend) => {
  let database: TestDatabase;
  let store: Store;
  beforeAll(async () => {
    database = await backend.create();
    store = await openStore(database.url);
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  const ids = async () => (await store.db.selectFrom('webhook_events').select('id').orderBy('id').execute()).map((r) => r.id);

  it('stores a batch of new, repeated and already stored ids in one write, ignored rows included', async () => {
    const writer = webhookEventWriter(store);
    let writes = 0;
    const commit = new GroupCommit(async (rows) => {
      writes++;
      return writer(rows);
    });
    expect(await commit.store(row('evt_gc_1'))).toBe('stored');
    writes = 0;
    const outcomes = await Promise.all([
      commit.store(row('evt_gc_1')),
      commit.store(row('evt_gc_2')),
      commit.store(row('evt_gc_2')),
      commit.store(row('evt_gc_3', { status: 'ignored', outcome: 'ignored: type not handled', processed_at: 1 })),
    ]);
    expect(outcomes).toEqual(['duplicate', 'stored', 'duplicate', 'stored']);
    expect(writes).toBe(1);
    expect(await ids()).toEqual(['evt_gc_1', 'evt_gc_2', 'evt_gc_3']);
  });

  it('a failing write stores none of its batch and rejects every delivery in it', async () => {
    const commit = new GroupCommit(webhookEventWriter(store));
    const results = await Promise.allSettled([
      commit.store(row('evt_gc_ok_1')),
      commit.store(row('evt_gc_ok_2')),
      // NOT NULL violated: the whole statement fails.
      commit.store(row('evt_gc_bad', { type: null as unknown as string })),
      commit.store(row('evt_gc_ok_3')),
    ]);
    // All four arrived in one turn and shared the failing write: none is stored, each is told so.
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect((await ids()).filter((id) => id.startsWith('evt_gc_ok') || id === 'evt_gc_bad')).toEqual([]);
  });

  it('refuses a row with a column intake does not write, instead of dropping the column', async () => {
    const commit = new GroupCommit(webhookEventWriter(store));
    await expect(commit.store(row('evt_gc_extra', { last_error: 'x' }))).rejects.toThrow(
      /webhook_events\.last_error is not written by intake/,
    );
    expect(await ids()).not.toContain('evt_gc_extra');
  });
});

describe.each(BACKENDS)('concurrent deliveries over HTTP on $name', (backend) => {
  const context = useService(backend, { config: { processRole: 'intake' } });

  it('answers every concurrent delivery after it is stored, and exactly one of each id as new', async () => {
    const events = Array.from({ length: 30 }, () =>
      subscriptionEvent('updated', { id: newId('sub'), customer: newId('cus'), status: 'active' }, nowSeconds()),
    );
    const deliveries = [...events, ...events.slice(0, 10), ...events.slice(0, 5)];
    const answers = await Promise.all(deliveries.map((e) => deliver(context.svc.baseUrl, e)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const fresh = answers.filter((a) => a.body.duplicate === undefined);
    expect(fresh).toHaveLength(events.length);
    expect(answers.filter((a) => a.body.duplicate === true)).toHaveLength(15);
    const stored = await context.svc.store.db
      .selectFrom('webhook_events')
      .select('id')
      .where(
        'id',
        'in',
        events.map((e) => e.id),
      )
      .execute();
    expect(stored).toHaveLength(events.length);
  });
});
