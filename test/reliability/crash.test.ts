import { connect, createServer, type Server, type Socket } from 'node:net';
import SqliteDatabase from 'better-sqlite3';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SyncWorker } from '../../src/subscriptions/index.js';
import { ADMIN_DATABASE_URL, BACKENDS, createPostgresDatabase, createSqliteDatabase } from '../helpers/databases.js';
import { deliver, deliverAll, newId, nowSeconds, subscriptionEvent } from '../helpers/events.js';
import { type CapturedProcess, spawnCaptured } from '../helpers/processes.js';
import { type RunningService, startService, useService } from '../helpers/service.js';

function lifecycles(subscriptions: number, start: number) {
  return Array.from({ length: subscriptions }, () => {
    const spec = { id: newId('sub'), customer: newId('cus') };
    return [
      subscriptionEvent('created', { ...spec, status: 'incomplete' }, start),
      subscriptionEvent('updated', { ...spec, status: 'active' }, start + 1),
      subscriptionEvent('updated', { ...spec, status: 'active', priceId: 'price_pro' }, start + 2),
      subscriptionEvent('updated', { ...spec, status: 'past_due', priceId: 'price_pro' }, start + 3),
    ];
  }).flat();
}

/** Every acknowledged event ends applied, and applied once. */
async function expectAppliedExactlyOnce(svc: RunningService, ids: string[]) {
  const rows = await svc.store.db.selectFrom('webhook_events').select(['id', 'status']).where('id', 'in', ids).execute();
  expect(rows.filter((r) => r.status !== 'applied')).toEqual([]);
  expect(rows).toHaveLength(ids.length);
  const history = await svc.store.db.selectFrom('subscription_history').select('event_id').where('event_id', 'in', ids).execute();
  expect(history.map((h) => h.event_id).sort()).toEqual([...ids].sort());
}

describe.each(BACKENDS)('a worker killed mid-event, on $name', (backend) => {
  const context = useService(backend, { config: { processRole: 'intake' } });
  let worker: CapturedProcess | undefined;
  afterEach(() => {
    worker?.child.kill('SIGKILL');
  });

  it('after SIGKILL and a restart, every acknowledged event is applied exactly once', async () => {
    const sent = lifecycles(5, nowSeconds() - 100);
    await deliverAll(context.svc.baseUrl, sent);
    const target = sent[6]!;
    worker = spawnCaptured(process.execPath, ['--import', 'tsx', 'test/fixtures/hanging-worker.ts'], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: context.database.url, HANG_ON_EVENT: target.id, WORKER_LEASE_MS: '1000' },
    });
    await worker.waitFor(new RegExp(`IN_FLIGHT ${target.id}`), 'the worker');
    // Mid-event: claimed, its effects applied inside an open transaction, nothing committed.
    const inFlight = await context.svc.store.db
      .selectFrom('webhook_events')
      .selectAll()
      .where('id', '=', target.id)
      .executeTakeFirstOrThrow();
    expect(inFlight.status).toBe('processing');
    worker.child.kill('SIGKILL');
    await worker.closed;
    expect(
      await context.svc.store.db.selectFrom('subscription_history').select('id').where('event_id', '=', target.id).execute(),
    ).toHaveLength(0);

    const restarted = new SyncWorker({
      store: context.svc.store,
      logger: pino({ level: 'silent' }),
      retrySchedule: [1000],
      leaseMs: 1000,
      pollIntervalMs: 100,
    });
    await restarted.start();
    try {
      await expect
        .poll(
          async () =>
            (
              await context.svc.store.db
                .selectFrom('webhook_events')
                .select('id')
                .where(
                  'id',
                  'in',
                  sent.map((e) => e.id),
                )
                .where('status', '=', 'applied')
                .execute()
            ).length,
          { timeout: 10_000, interval: 100 },
        )
        .toBe(sent.length);
      await expectAppliedExactlyOnce(
        context.svc,
        sent.map((e) => e.id),
      );
    } finally {
      await restarted.stop();
    }
  });
});

/** A TCP proxy to PostgreSQL that the test can cut and restore. */
async function cuttableProxy(target: URL): Promise<{ port: number; cut(): void; restore(): void; close(): Promise<void> }> {
  let down = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (down) return client.destroy();
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    cut() {
      down = true;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      down = false;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('the database becomes unreachable during intake', () => {
  // Events in process when the connection drops fail (or lose their lease): retry them quickly here.
  const quickRecovery = { config: { retrySchedule: [200, 200, 200, 200, 200], workerLeaseMs: 1000 } };

  async function outageScenario(svc: RunningService, breakDatabase: () => void, repair: () => void) {
    const before = lifecycles(2, nowSeconds() - 100);
    await deliverAll(svc.baseUrl, before);
    breakDatabase();
    const during = lifecycles(2, nowSeconds() - 50);
    const answers = await Promise.all(during.map((e) => deliver(svc.baseUrl, e)));
    expect(answers.map((a) => a.status)).toEqual(during.map(() => 503));
    expect(answers.every((a) => a.body.error === 'storage_unavailable')).toBe(true);
    repair();
    // Stripe redelivers what was not acknowledged.
    await deliverAll(svc.baseUrl, during);
    await svc.settle();
    await expect
      .poll(async () => (await svc.store.db.selectFrom('webhook_events').select('id').where('status', '=', 'applied').execute()).length, {
        timeout: 10_000,
      })
      .toBe(before.length + during.length);
    await expectAppliedExactlyOnce(
      svc,
      [...before, ...during].map((e) => e.id),
    );
  }

  it('PostgreSQL behind a cut connection: 503, then redelivery is stored and applied', async () => {
    const database = await createPostgresDatabase();
    const proxy = await cuttableProxy(new URL(ADMIN_DATABASE_URL));
    const proxied = new URL(database.url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    const svc = await startService({ url: proxied.toString(), drop: async () => {} }, quickRecovery);
    try {
      await outageScenario(
        svc,
        () => proxy.cut(),
        () => proxy.restore(),
      );
    } finally {
      await svc.close();
      await proxy.close();
      await database.drop();
    }
  });

  it('SQLite locked by another writer: 503, then redelivery is stored and applied', async () => {
    const database = await createSqliteDatabase();
    const svc = await startService(database, { ...quickRecovery, store: { sqliteBusyTimeoutMs: 100 } });
    const locker = new SqliteDatabase(database.url.slice('sqlite:'.length));
    try {
      await outageScenario(
        svc,
        () => locker.exec('BEGIN IMMEDIATE'),
        () => locker.exec('ROLLBACK'),
      );
    } finally {
      locker.close();
      await svc.close();
      await database.drop();
    }
  });
});
