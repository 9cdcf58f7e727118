import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/db/index.js';
import { createPostgresDatabase, type TestDatabase } from '../helpers/databases.js';
import { deliver, nowSeconds } from '../helpers/events.js';
import { expectLifecyclesAppliedOnce, lifecycle, shuffle } from '../helpers/lifecycles.js';
import { type ServiceProcess, startServiceProcess, stopServiceProcess } from '../helpers/processes.js';
import { TEST_SECRET } from '../helpers/service.js';

const SUBSCRIPTIONS = 625;
const EVENTS_PER_SUBSCRIPTION = 8; // 5,000 events
const DUPLICATES = 500;
const IN_FLIGHT = 32;

/** `npm start` as its own process, on a free port. */
const startProcess = (databaseUrl: string) =>
  startServiceProcess({ DATABASE_URL: databaseUrl, STRIPE_WEBHOOK_SECRET: TEST_SECRET, WORKER_CONCURRENCY: '8' });

describe('two service processes on one PostgreSQL database', () => {
  let database: TestDatabase;
  let store: Store;
  let services: ServiceProcess[] = [];

  beforeAll(async () => {
    database = await createPostgresDatabase();
    store = await openStore(database.url);
    services = await Promise.all([startProcess(database.url), startProcess(database.url)]);
  });
  afterAll(async () => {
    for (const service of services) service.child.kill('SIGKILL');
    await store?.close();
    await database?.drop();
  });

  it('receive 5,000 signed events (duplicates and shuffles included) and apply each exactly once', async () => {
    const start = nowSeconds() - 3600;
    const lifecycles = Array.from({ length: SUBSCRIPTIONS }, (_, i) => lifecycle(i, start));
    const events = lifecycles.flat();
    expect(events).toHaveLength(SUBSCRIPTIONS * EVENTS_PER_SUBSCRIPTION);
    const deliveries = shuffle([...events, ...shuffle([...events]).slice(0, DUPLICATES)]);

    let next = 0;
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async (_, lane) => {
        for (let i = next++; i < deliveries.length; i = next++) {
          statuses.push((await deliver(services[(i + lane) % 2]!.baseUrl, deliveries[i])).status);
        }
      }),
    );
    expect(statuses.filter((s) => s !== 200)).toEqual([]);

    await expectLifecyclesAppliedOnce(store, lifecycles, 90_000);
    const attemptedAgain = await store.db.selectFrom('webhook_events').select(['id', 'attempts']).where('attempts', '!=', 1).execute();
    expect(attemptedAgain).toEqual([]);

    // SIGTERM: both stop taking work and exit 0 in bounded time.
    const exits = await Promise.all(services.map(stopServiceProcess));
    expect(exits).toEqual([0, 0]);
    services = [];
  }, 180_000);
});
