import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, createSqliteDatabase, type TestDatabase } from '../helpers/databases.js';
import { type RunningService, startService } from '../helpers/service.js';
import { consumeUsage, type PlanChoice, readUsage, SubscriptionDriver, type UsageAnswer } from '../helpers/usage.js';
import { createUser, getEntitlement } from '../helpers/users.js';

/**
 * Random interleavings of consumptions (with and without idempotency keys, so that keys repeat),
 * replays, plan changes (signed subscription events) and steps of the services' clock, applied
 * concurrently in batches across the services (two on one PostgreSQL database, standing for two
 * processes; one on SQLite). After each batch the answers are checked against a model that knows
 * only what was allowed, when, and for how much:
 *  - an allowed answer never reports `used` over its `limit`, and what one limit allowed in a
 *    window of its plan sums to no more than that limit; a refusal reports more than its limit
 *    only when the window holds consumptions allowed under another plan (what was used stays
 *    counted across a plan change: a downgrade, or free days inside a paid month);
 *  - a fresh refusal did not fit; a fresh allowed answer's count is its own slice of the window,
 *    disjoint from every other allowed answer's;
 *  - `used` as read (on every service, and in the entitlement answer) is the sum of the allowed,
 *    non-replayed amounts whose time falls in the window of the plan it reports;
 *  - every answer to one idempotency key is exactly the first answer.
 */

const DAY_MS = 86_400_000;
const FEATURE = 'summarize';

/** Each plan has a limit of its own, so that an answer's `limit` says which plan (and window) it counted in. */
const LIMITS = {
  [FEATURE]: {
    free: { limit: 5, per: 'day' as const },
    price_basic: { limit: 12, per: 'month' as const },
    price_plus: { limit: 20, per: 'billing_period' as const },
    prod_pro: { limit: null, per: null },
  },
};
type PlanName = 'free' | 'basic' | 'plus' | 'pro';
const LIMIT_OF: Record<PlanName, number | null> = { free: 5, basic: 12, plus: 20, pro: null };
const PER_OF: Record<PlanName, string | null> = { free: 'day', basic: 'month', plus: 'billing_period', pro: null };
const KEYS = 4;

type Op =
  | { kind: 'consume'; amount: number; key: number | null; via: number }
  | { kind: 'replay'; pick: number; amount: number; via: number }
  | { kind: 'plan'; plan: PlanName; via: number };
interface Batch {
  /** The clock moves on before the batch (never during it: every consumption of a batch is at one time). */
  clockStep: number;
  ops: Op[];
}
interface Scenario {
  /** Where the clock starts, after now: anywhere in the next 40 days, so runs start at every time of day and month. */
  startOffset: number;
  batches: Batch[];
}

const via = fc.nat({ max: 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('consume' as const),
      amount: fc.integer({ min: 1, max: 3 }),
      key: fc.option(fc.nat({ max: KEYS - 1 }), { freq: 2 }),
      via,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('replay' as const), pick: fc.nat(), amount: fc.integer({ min: 1, max: 3 }), via }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('plan' as const), plan: fc.constantFrom<PlanName>('free', 'basic', 'plus', 'pro'), via }),
  },
);
const clockStep = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.integer({ min: 60_000, max: 6 * 3_600_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: DAY_MS / 2, max: 2 * DAY_MS }) },
  { weight: 1, arbitrary: fc.integer({ min: 10 * DAY_MS, max: 35 * DAY_MS }) },
);
const scenario: fc.Arbitrary<Scenario> = fc.record({
  startOffset: fc.integer({ min: 0, max: 40 * DAY_MS }),
  batches: fc.array(fc.record({ clockStep, ops: fc.array(op, { minLength: 1, maxLength: 10 }) }), { minLength: 1, maxLength: 8 }),
});

/** The model's reading of the windows (src/usage/decide.ts states them; this is the contract's words, written again). */
interface Window {
  start: number;
  end: number | null;
}
function windowOf(limit: number | null, at: number, billing: Window): Window {
  const d = new Date(at);
  switch (limit) {
    case LIMIT_OF.free: {
      const start = Math.floor(at / DAY_MS) * DAY_MS;
      return { start, end: start + DAY_MS };
    }
    case LIMIT_OF.basic:
      return { start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
    case LIMIT_OF.plus: {
      const length = billing.end! - billing.start;
      const periods = Math.max(0, Math.floor((at - billing.start) / length));
      return { start: billing.start + periods * length, end: billing.end! + periods * length };
    }
    case LIMIT_OF.pro:
      return { start: 0, end: null };
    default:
      throw new Error(`no plan has the limit ${limit}`);
  }
}
const inWindow = (w: Window, at: number) => at >= w.start && (w.end === null || at < w.end);

/** A consumption the service counted: allowed, and not a replay. */
interface Counted {
  at: number;
  amount: number;
  /** The limit it was allowed under. */
  limit: number | null;
}

function describeInterleavings(name: string, create: () => Promise<TestDatabase>, serviceCount: number, numRuns: number) {
  describe(`usage quotas under random interleavings on ${name} (${serviceCount} service${serviceCount > 1 ? 's' : ''})`, () => {
    let database: TestDatabase;
    let services: RunningService[] = [];
    let clock = Date.now();
    const now = () => clock;

    beforeAll(async () => {
      database = await create();
      // The first runs the sync worker; any other only takes requests and webhooks (PROCESS_ROLE=intake).
      for (let i = 0; i < serviceCount; i++)
        services.push(await startService(database, { config: { usageLimits: LIMITS, processRole: i === 0 ? 'all' : 'intake' }, now }));
    });
    afterAll(async () => {
      for (const service of services) await service.close();
      services = [];
      await database?.drop();
    });

    async function run({ startOffset, batches }: Scenario): Promise<void> {
      // A user of their own per run: keys, counts and subscriptions start empty. The clock never
      // goes behind the real one (the worker's leases and retries read it).
      clock = Date.now() + startOffset;
      const baseUrl = (i: number) => services[i % services.length]!.baseUrl;
      const worker = services[0]!;
      const { userId, token } = await createUser(baseUrl(0));
      const driver = new SubscriptionDriver(userId);
      // The plus plan's billing period: it began 3 days before the run, 30 days long, and rolls on.
      const periodStart = Math.floor(clock / 1000) - 3 * 86_400;
      const billing = { start: periodStart * 1000, end: (periodStart + 30 * 86_400) * 1000 };
      const choices: Record<PlanName, PlanChoice> = {
        free: null,
        basic: { priceId: 'price_basic', productId: 'prod_basic' },
        plus: { priceId: 'price_plus', productId: 'prod_plus', periodStart, periodEnd: periodStart + 30 * 86_400 },
        pro: { priceId: 'price_pro_monthly', productId: 'prod_pro' },
      };

      let plan: PlanName = 'free';
      const counted: Counted[] = [];
      const firstAnswers = new Map<number, UsageAnswer>();
      const where = (batch: number) => `batch ${batch + 1} at ${new Date(clock).toISOString()}`;

      for (const [b, batch] of batches.entries()) {
        clock += batch.clockStep;
        const at = clock;
        // A key first sent in this batch carries the amount of its first use in it, in every send
        // of this batch: which of them the service took first is unknown, but not what it counted.
        const batchAmount = new Map<number, number>();
        const sends: { key: number | null; amount: number; via: number; fresh: boolean }[] = [];
        const planOps: { plan: PlanName; via: number }[] = [];
        const known = [...firstAnswers.keys()];
        for (const o of batch.ops) {
          if (o.kind === 'plan') planOps.push(o);
          else if (o.kind === 'replay' && known.length === 0) sends.push({ key: null, amount: o.amount, via: o.via, fresh: true });
          else {
            const key = o.kind === 'replay' ? known[o.pick % known.length]! : o.key;
            if (key === null) sends.push({ key, amount: o.amount, via: o.via, fresh: true });
            else if (firstAnswers.has(key)) sends.push({ key, amount: o.amount, via: o.via, fresh: false });
            else {
              if (!batchAmount.has(key)) batchAmount.set(key, o.amount);
              sends.push({ key, amount: batchAmount.get(key)!, via: o.via, fresh: true });
            }
          }
        }

        // Plan changes one after another (each applied before the next is sent), alongside the consumptions.
        const changing = (async () => {
          for (const change of planOps) {
            await driver.moveTo(baseUrl(change.via), choices[change.plan]);
            await worker.settle();
            plan = change.plan;
          }
        })();
        const answers = await Promise.all(
          sends.map((s) =>
            consumeUsage(baseUrl(s.via), token, FEATURE, { amount: s.amount, ...(s.key === null ? {} : { idempotencyKey: `k${s.key}` }) }),
          ),
        );
        await changing;
        await worker.settle();

        // Every answer, on its own.
        for (const [i, answer] of answers.entries()) {
          const { body } = answer;
          expect([200, 402], `${where(b)}: ${JSON.stringify(answer)}`).toContain(answer.status);
          expect(body.allowed).toBe(answer.status === 200);
          expect(body.feature).toBe(FEATURE);
          if (body.limit === null) {
            expect(answer.status).toBe(200);
            expect(body).toMatchObject({ remaining: null, resetsAt: null });
          } else {
            expect(body.remaining).toBe(Math.max(0, body.limit - body.used));
            if (answer.status === 200) expect(body.used, `${where(b)}: an allowed answer past its limit`).toBeLessThanOrEqual(body.limit);
          }
          if (!sends[i]!.fresh) continue;
          // A fresh answer counted at this batch's time, in its plan's window.
          const window = windowOf(body.limit, at, billing);
          expect(body.resetsAt).toBe(body.limit === null || window.end === null ? null : new Date(window.end).toISOString());
          if (answer.status === 402) {
            expect(body.error).toBe('quota_exceeded');
            expect(body.used + sends[i]!.amount, `${where(b)}: refused though it fitted`).toBeGreaterThan(body.limit);
          }
        }

        // Every answer to one key is its first answer: one of this batch's (all of which agree), or an earlier batch's.
        for (const [i, answer] of answers.entries()) {
          const { key } = sends[i]!;
          if (key === null) continue;
          const first = firstAnswers.get(key);
          if (first) expect(answer, `${where(b)}: key k${key} replayed`).toEqual(first);
          else firstAnswers.set(key, answer);
        }

        // What this batch counted: every allowed unkeyed answer, and each new key once.
        const countedHere = new Set<number>();
        for (const [i, answer] of answers.entries()) {
          const send = sends[i]!;
          if (!send.fresh || answer.status !== 200) continue;
          if (send.key !== null && [...countedHere].some((j) => sends[j]!.key === send.key)) continue;
          countedHere.add(i);
          counted.push({ at, amount: send.amount, limit: answer.body.limit });
        }
        const sumIn = (w: Window, list: readonly Counted[] = counted) =>
          list.filter((c) => inWindow(w, c.at)).reduce((s, c) => s + c.amount, 0);

        // Fresh allowed answers: each one's slice (used - amount, used] of its window is its own.
        const slices = new Map<string, [number, number][]>();
        for (const i of countedHere) {
          const { body } = answers[i]!;
          const group = `${body.limit}/${body.resetsAt}`;
          slices.set(group, [...(slices.get(group) ?? []), [body.used - sends[i]!.amount, body.used]]);
        }
        for (const [group, list] of slices) {
          list.sort((x, y) => x[0] - y[0]);
          expect(list[0]![0], `${where(b)}: window ${group}`).toBeGreaterThanOrEqual(0);
          for (let j = 1; j < list.length; j++)
            expect(list[j]![0], `${where(b)}: overlapping counts in window ${group}: ${JSON.stringify(list)}`).toBeGreaterThanOrEqual(
              list[j - 1]![1],
            );
        }

        // Without a plan change the batch ran on one plan: its allowed slices tile the window exactly, from
        // what it held before the batch to what it holds after; every refusal saw a count in between.
        if (planOps.length === 0) {
          const window = windowOf(LIMIT_OF[plan], at, billing);
          const before = sumIn(window, counted.slice(0, counted.length - countedHere.size));
          const after = sumIn(window);
          for (const [i, answer] of answers.entries())
            if (sends[i]!.fresh) {
              expect(answer.body.limit).toBe(LIMIT_OF[plan]);
              expect(answer.body.used).toBeGreaterThanOrEqual(answer.status === 402 ? before : before + sends[i]!.amount);
              expect(answer.body.used).toBeLessThanOrEqual(after);
            }
          const list = [...slices.values()].flat().sort((x, y) => x[0] - y[0]);
          let edge = before;
          for (const [from, to] of list) {
            expect(from, `${where(b)}: the allowed counts leave a gap or overlap: ${JSON.stringify(list)} from ${before}`).toBe(edge);
            edge = to;
          }
          expect(edge).toBe(after);
        }

        // Whatever the plans did, what each limit allowed in a window of its plan fits in that limit.
        for (const limit of [LIMIT_OF.free, LIMIT_OF.basic, LIMIT_OF.plus]) {
          const under = counted.filter((c) => c.limit === limit);
          for (const c of under) {
            const window = windowOf(limit, c.at, billing);
            expect(
              sumIn(window, under),
              `${where(b)}: the limit ${limit} allowed more than itself in ${JSON.stringify(window)}`,
            ).toBeLessThanOrEqual(limit!);
          }
        }
        // A refusal over its limit: its window holds consumptions allowed under another plan (counted
        // on an earlier plan stays counted: a downgrade, or days of a daily plan in a monthly window).
        for (const [i, answer] of answers.entries()) {
          const { body } = answer;
          if (!sends[i]!.fresh || answer.status !== 402 || body.used <= body.limit) continue;
          const window = windowOf(body.limit, at, billing);
          const otherPlans = counted.filter((c) => inWindow(window, c.at) && c.limit !== body.limit);
          expect(
            otherPlans.length,
            `${where(b)}: used ${body.used} over the limit ${body.limit}, all of it counted on that plan`,
          ).toBeGreaterThan(0);
        }

        // What every service reads: the sum of what was counted in the current plan's window.
        const expectedWindow = windowOf(LIMIT_OF[plan], at, billing);
        const expected = sumIn(expectedWindow);
        for (let s = 0; s < services.length; s++) {
          const read = await readUsage(baseUrl(s), token, FEATURE);
          expect(read, `${where(b)}: read on service ${s + 1} on plan ${plan}`).toEqual({
            status: 200,
            body: {
              feature: FEATURE,
              used: expected,
              limit: LIMIT_OF[plan],
              remaining: LIMIT_OF[plan] === null ? null : Math.max(0, LIMIT_OF[plan]! - expected),
              resetsAt: LIMIT_OF[plan] === null || expectedWindow.end === null ? null : new Date(expectedWindow.end).toISOString(),
              per: PER_OF[plan],
            },
          });
          const { feature: _, ...state } = read.body;
          expect((await getEntitlement(baseUrl(s), token)).usage[FEATURE]).toEqual(state);
        }
      }
    }

    it(`${numRuns} runs of random batches`, async () => {
      // A failure shrinks for at most a minute, then reports the smallest counterexample found so far.
      await fc.assert(fc.asyncProperty(scenario, run), { numRuns, interruptAfterTimeLimit: 60_000, markInterruptAsFailure: true });
    }, 120_000);
  });
}

describeInterleavings('PostgreSQL', createPostgresDatabase, 2, 20);
describeInterleavings('SQLite', createSqliteDatabase, 1, 15);
