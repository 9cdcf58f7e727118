import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, type TestDatabase } from '../helpers/databases.js';
import { newId } from '../helpers/events.js';
import { type ServiceProcess, startServiceProcess, stopServiceProcess } from '../helpers/processes.js';
import { TEST_SECRET } from '../helpers/service.js';
import { consumeUsage, readUsage, SubscriptionDriver, type UsageAnswer } from '../helpers/usage.js';
import { createUser, getEntitlement } from '../helpers/users.js';

/**
 * "Concurrent consumption never goes past the limit, within one process and across many processes
 * on PostgreSQL": two real service processes (`src/main.ts`, as `npm start` runs it) on one
 * database, the same user's consumptions split across both at once.
 */

const LIMITS = {
  summarize: { free: { limit: 5, per: 'day' }, price_basic: { limit: 50, per: 'month' } },
};
const CONCURRENT = 64;

describe('usage quotas across two service processes on one PostgreSQL database', () => {
  let database: TestDatabase;
  const dataDirs: string[] = [];
  let services: ServiceProcess[] = [];

  beforeAll(async () => {
    database = await createPostgresDatabase();
    const start = () => {
      // A data dir each: in local mode each process keeps its own generated entitlement signing key there.
      const dataDir = mkdtempSync(join(tmpdir(), 'usage-processes-'));
      dataDirs.push(dataDir);
      return startServiceProcess({
        DATABASE_URL: database.url,
        STRIPE_WEBHOOK_SECRET: TEST_SECRET,
        USAGE_LIMITS: JSON.stringify(LIMITS),
        DATA_DIR: dataDir,
        PROCESS_ROLE: 'all',
        RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '100000',
        RATE_LIMIT_SIGNUPS_PER_MINUTE: '100000',
      });
    };
    services = await Promise.all([start(), start()]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(services.map(stopServiceProcess));
    await database?.drop();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  /** Polls both processes until the user's entitlement answer carries the given limit. */
  async function untilLimit(token: string, limit: number): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const answers = await Promise.all(services.map((s) => getEntitlement(s.baseUrl, token)));
      if (answers.every((a) => a.usage?.summarize?.limit === limit)) return;
      if (Date.now() > deadline) throw new Error(`the limit never became ${limit}: ${JSON.stringify(answers.map((a) => a.usage))}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it(`${CONCURRENT} concurrent consumes split across both processes against a limit of 50: exactly 50 allowed`, async () => {
    const { userId, token } = await createUser(services[0]!.baseUrl);
    await new SubscriptionDriver(userId).moveTo(services[1]!.baseUrl, { priceId: 'price_basic', productId: 'prod_basic' });
    await untilLimit(token, 50);

    const answers = await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) => consumeUsage(services[i % 2]!.baseUrl, token, 'summarize', { amount: 1 })),
    );
    const allowed = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 402);
    expect(allowed).toHaveLength(50);
    expect(refused).toHaveLength(CONCURRENT - 50);
    // Each allowed one counted one more than some other: the counts 1..50, each once.
    expect(allowed.map((a) => a.body.used).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    for (const answer of allowed) expect(answer.body).toMatchObject({ allowed: true, feature: 'summarize', limit: 50 });
    for (const answer of refused)
      expect(answer.body).toMatchObject({ error: 'quota_exceeded', allowed: false, used: 50, limit: 50, remaining: 0 });
    // Both processes had a share of the allowed ones.
    expect(new Set(answers.flatMap((a, i) => (a.status === 200 ? [i % 2] : []))).size).toBe(2);

    for (const service of services) {
      expect(await readUsage(service.baseUrl, token, 'summarize')).toEqual({
        status: 200,
        body: { feature: 'summarize', used: 50, limit: 50, remaining: 0, resetsAt: expect.any(String), per: 'month' },
      });
      expect((await getEntitlement(service.baseUrl, token)).usage.summarize).toMatchObject({ used: 50, limit: 50, remaining: 0 });
    }
  }, 60_000);

  it('the same idempotency key sent to both processes at once counts once, and both answer the same', async () => {
    const { token } = await createUser(services[0]!.baseUrl);
    // Free: 5 a day. Eight keys, each sent four times at once (twice to each process): five keys fit.
    const keys = Array.from({ length: 8 }, () => newId('idem'));
    const sends = keys.flatMap((key) => [0, 1, 0, 1].map((via) => ({ key, via })));
    const answers = await Promise.all(
      sends.map(async ({ key, via }) => ({
        key,
        via,
        answer: await consumeUsage(services[via]!.baseUrl, token, 'summarize', { idempotencyKey: key }),
      })),
    );
    const byKey = new Map<string, UsageAnswer[]>();
    for (const { key, answer } of answers) byKey.set(key, [...(byKey.get(key) ?? []), answer]);
    for (const [, same] of byKey) for (const answer of same) expect(answer).toEqual(same[0]);
    const firsts = [...byKey.values()].map((same) => same[0]!);
    expect(firsts.filter((a) => a.status === 200)).toHaveLength(5);
    expect(firsts.filter((a) => a.status === 402)).toHaveLength(3);
    expect(
      firsts
        .filter((a) => a.status === 200)
        .map((a) => a.body.used)
        .sort(),
    ).toEqual([1, 2, 3, 4, 5]);

    // Sent again later, to the other process, with another amount: still the first answer, still counted once.
    for (const [key, same] of byKey) {
      expect(await consumeUsage(services[1]!.baseUrl, token, 'summarize', { idempotencyKey: key, amount: 3 })).toEqual(same[0]);
      expect(await consumeUsage(services[0]!.baseUrl, token, 'summarize', { idempotencyKey: key })).toEqual(same[0]);
    }
    for (const service of services)
      expect((await readUsage(service.baseUrl, token, 'summarize')).body).toMatchObject({ used: 5, limit: 5 });
  }, 60_000);

  it('a key with room left, sent to both at once many times over, counts its amount once', async () => {
    const { userId, token } = await createUser(services[0]!.baseUrl);
    await new SubscriptionDriver(userId).moveTo(services[0]!.baseUrl, { priceId: 'price_basic', productId: 'prod_basic' });
    await untilLimit(token, 50);
    const key = newId('idem');
    const answers = await Promise.all(
      Array.from({ length: 32 }, (_, i) => consumeUsage(services[i % 2]!.baseUrl, token, 'summarize', { idempotencyKey: key, amount: 7 })),
    );
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(answers[0]!.body).toMatchObject({ allowed: true, used: 7, limit: 50, remaining: 43 });
    for (const service of services) expect((await readUsage(service.baseUrl, token, 'summarize')).body.used).toBe(7);
  }, 60_000);

  it('both processes exit 0 on SIGTERM', async () => {
    expect(await Promise.all(services.map(stopServiceProcess))).toEqual([0, 0]);
    services = [];
  }, 30_000);
});
