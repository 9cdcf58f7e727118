import { hostname } from 'node:os';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/db/index.js';
import { SyncWorker, WorkerLockError } from '../../src/subscriptions/index.js';
import { BACKENDS, createSqliteDatabase, type TestDatabase } from '../helpers/databases.js';
import { deliver, nowSeconds, type StripeEventBody } from '../helpers/events.js';
import { expectLifecyclesAppliedOnce, lifecycle, shuffle } from '../helpers/lifecycles.js';
import { killProcessGroup, type ServiceProcess, spawnCaptured, startServiceProcess, stopServiceProcess } from '../helpers/processes.js';
import { TEST_SECRET } from '../helpers/service.js';

const ROUNDS = 20;

describe.each(BACKENDS)('npm start killed with SIGKILL and restarted at once, on $name', (backend) => {
  let database: TestDatabase;
  let store: Store;
  let service: ServiceProcess | undefined;
  beforeAll(async () => {
    database = await backend.create();
    store = await openStore(database.url);
  });
  afterAll(async () => {
    if (service) await stopServiceProcess(service);
    await store?.close();
    await database?.drop();
  });

  it(`${ROUNDS} rounds of deliver, kill right after the last 2xx, restart: every round starts, every acknowledged event is applied once`, async () => {
    // Claims of a killed worker on PostgreSQL wait out their lease: a short one keeps the test short.
    const env = { DATABASE_URL: database.url, STRIPE_WEBHOOK_SECRET: TEST_SECRET, WORKER_LEASE_SECONDS: '2' };
    const start = nowSeconds() - 3600;
    const lifecycles: StripeEventBody[][] = [];
    service = await startServiceProcess(env, { via: 'npm' });
    for (let round = 0; round < ROUNDS; round++) {
      lifecycles.push(lifecycle(round, start));
      // This round's life cycle shuffled, and one event of an earlier round again (Stripe redelivers).
      const deliveries = shuffle([...lifecycles.at(-1)!, lifecycles[Math.floor(Math.random() * lifecycles.length)]![0]!]);
      const running = service;
      const statuses = await Promise.all(deliveries.map(async (event) => (await deliver(running.baseUrl, event)).status));
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      killProcessGroup(running);
      // At once: the killed node process may not even be reaped yet (a zombie whose pid still answers).
      service = await startServiceProcess(env, { via: 'npm' }).catch((error: Error) => {
        throw new Error(`round ${round + 1}: the restart did not start: ${error.message}`);
      });
    }
    await expectLifecyclesAppliedOnce(store, lifecycles, 30_000);
  }, 240_000);
});

describe('the SQLite worker lock at start-up', () => {
  let database: TestDatabase;
  let store: Store;
  const workers: SyncWorker[] = [];
  beforeAll(async () => {
    database = await createSqliteDatabase();
    store = await openStore(database.url);
  });
  afterEach(async () => {
    for (const worker of workers.splice(0)) await worker.stop();
    await store.db.deleteFrom('worker_locks').execute();
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  const holdLock = (owner: string, heartbeatAt = Date.now()) =>
    store.db.insertInto('worker_locks').values({ name: 'sqlite-worker', owner, heartbeat_at: heartbeatAt }).execute();

  function worker(now: () => number = Date.now) {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const created = new SyncWorker({ store, logger, retrySchedule: [1000], pollIntervalMs: 60_000, now });
    workers.push(created);
    return { worker: created, lines };
  }

  it('is taken over at once from a zombie on this host, whose fresh heartbeat means nothing', async () => {
    const parent = spawnCaptured('sh', ['-c', 'sleep 0 & echo $!; exec sleep 5']);
    try {
      const zombie = Number((await parent.waitFor(/^(\d+)\n/, 'sh'))[1]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await holdLock(`${hostname()}:${zombie}:deadbeef`);
      const { worker: w, lines } = worker();
      await w.start();
      expect(await store.db.selectFrom('worker_locks').select('owner').executeTakeFirst()).toEqual({ owner: w.owner });
      expect(lines.find((l) => l.msg === 'took over the SQLite worker lock from a process that is gone')).toMatchObject({
        previousHolder: `${hostname()}:${zombie}:deadbeef`,
      });
    } finally {
      parent.child.kill('SIGKILL');
    }
  });

  it('is refused while its holder on this host is alive, as before', async () => {
    const alive = spawnCaptured('sleep', ['5']).child;
    try {
      await holdLock(`${hostname()}:${alive.pid}:cafecafe`);
      await expect(worker().worker.start()).rejects.toThrow(WorkerLockError);
    } finally {
      alive.kill('SIGKILL');
    }
  });

  it('held by a process on another host, is waited for (and said so) until its heartbeat is stale; nothing exits', async () => {
    const clock = { now: Date.now() };
    await holdLock('another-host:123:abcdabcd', clock.now);
    const { worker: w, lines } = worker(() => clock.now);
    let started = false;
    const starting = w.start().then(() => (started = true));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(started).toBe(false);
    expect(lines.find((l) => String(l.msg).startsWith('the SQLite worker lock is held by a process on another host'))).toMatchObject({
      level: 40,
      holder: 'another-host:123:abcdabcd',
      staleAfterMs: 15_000,
    });
    clock.now += 15_001;
    await starting;
    expect(await store.db.selectFrom('worker_locks').select('owner').executeTakeFirst()).toEqual({ owner: w.owner });
  });
});
