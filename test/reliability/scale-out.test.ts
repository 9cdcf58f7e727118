import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/db/index.js';
import { createPostgresDatabase, type TestDatabase } from '../helpers/databases.js';
import { deliver, newId, nowSeconds, type StripeEventBody, subscriptionEvent } from '../helpers/events.js';
import { TEST_SECRET } from '../helpers/service.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const SUBSCRIPTIONS = 625;
const EVENTS_PER_SUBSCRIPTION = 8; // 5,000 events
const DUPLICATES = 500;
const IN_FLIGHT = 32;

interface ServiceProcess {
  child: ChildProcess;
  baseUrl: string;
}

/** `npm start` as its own process, on a free port. */
function startProcess(databaseUrl: string): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl, STRIPE_WEBHOOK_SECRET: TEST_SECRET, PORT: '0', WORKER_CONCURRENCY: '8' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (!match) return;
      // From here on the logs are not needed: drain them unread.
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onData);
      child.stdout!.resume();
      child.stderr!.resume();
      resolve({ child, baseUrl: match[1]! });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`service exited (${code}): ${output}`)));
  });
}

function stopProcess(service: ServiceProcess): Promise<number | null> {
  return new Promise((resolve) => {
    service.child.once('exit', (code) => resolve(code));
    service.child.kill('SIGTERM');
  });
}

/** Each subscription's life cycle in `created` order; the last event decides the expected record. */
function lifecycle(index: number, start: number): StripeEventBody[] {
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

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

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

    await expect
      .poll(async () => Number((await store.db.selectFrom('webhook_events').select((eb) => eb.fn.countAll().as('n')).where('status', '=', 'applied').executeTakeFirstOrThrow()).n), {
        timeout: 90_000,
        interval: 250,
      })
      .toBe(events.length);

    const rows = await store.db.selectFrom('webhook_events').select(['status', 'attempts']).execute();
    expect(rows).toHaveLength(events.length);
    expect(rows.filter((r) => r.status !== 'applied' || r.attempts !== 1)).toEqual([]);
    const duplicatesApplied = await store.db
      .selectFrom('subscription_history')
      .select('event_id')
      .groupBy('event_id')
      .having((eb) => eb.fn.countAll(), '>', 1)
      .execute();
    expect(duplicatesApplied).toEqual([]);

    const records = new Map((await store.db.selectFrom('subscriptions').selectAll().execute()).map((r) => [r.id, r]));
    for (const lifecycleEvents of lifecycles) {
      const last = lifecycleEvents.at(-1)!;
      expect(records.get(last.data.object.id)).toMatchObject({
        status: last.data.object.status,
        price_id: last.data.object.items.data[0].price.id,
        last_event_id: last.id,
      });
    }

    // SIGTERM: both stop taking work and exit 0 in bounded time.
    const exits = await Promise.all(services.map(stopProcess));
    expect(exits).toEqual([0, 0]);
    services = [];
  }, 180_000);
});
