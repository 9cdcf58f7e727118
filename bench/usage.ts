import { openStore } from '../src/db/index.js';
import { benchToken, seedUsers, userSpread } from './dataset.js';
import type { LoadRequest } from './load.js';
import { type BenchOptions, entitlementRequests, measureInTurns, type SeriesFigures } from './scenarios.js';
import { startService, withDatabase } from './targets.js';

/**
 * The usage scenario: what a consumption (`POST /v1/usage/summarize`, one write transaction that
 * holds the user's quota lock) costs against the entitlement check (`GET /v1/entitlements`, which
 * then reports the feature's usage too), on every backend, in turns within one run.
 */

const USAGE_FEATURE = 'summarize';
/** Large enough that nothing is refused: a 402 would count as failed (bench/load.ts counts any non-2xx). */
const USAGE_LIMIT = 1_000_000_000;
/** Free users and the seeded premium users (their price, `price_bench`) each on their own plan, as a deployment configures them. */
const USAGE_LIMITS = JSON.stringify({
  [USAGE_FEATURE]: { free: { limit: USAGE_LIMIT, per: 'day' }, price_bench: { limit: USAGE_LIMIT, per: 'day' } },
});

interface UsageBackendFigures {
  users: number;
  /** `GET /v1/entitlements` with the usage limits configured. */
  checks: SeriesFigures;
  consumes: SeriesFigures;
}

export type UsageFigures = Record<string, UsageBackendFigures>;

let runCounter = 0;

/** Consumptions of one unit each, users spread as entitlementRequests spreads them, every one with an idempotency key of its own. */
function consumeRequests(users: number) {
  return (run: string) => {
    const user = userSpread(users);
    // Unique across runs and processes: a key seen before would be a replay, which counts nothing.
    const prefix = `${Date.now().toString(36)}-${(runCounter++).toString(36)}-${run}`;
    return (i: number): LoadRequest => ({
      method: 'POST',
      path: `/v1/usage/${USAGE_FEATURE}`,
      headers: { authorization: `Bearer ${benchToken(user())}`, 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 1, idempotencyKey: `${prefix}-${i}` }),
    });
  };
}

/**
 * Per backend, one database of `smallUsers` users (10,000 unless told) and two service processes
 * on it, both with the usage limits: measureInTurns starts one server per contender (and charges
 * each its own process's CPU), and a server waiting for its turn is idle, so the checks and the
 * consumptions never run at the same time; the checks read the usage rows the consumptions wrote.
 * `PROCESS_ROLE=intake`, as the entitlements scenario runs: the default deployment (`all`) would
 * put two sync workers on one database.
 */
export async function benchUsage(options: BenchOptions): Promise<UsageFigures> {
  const figures: UsageFigures = {};
  const users = options.smallUsers;
  for (const backend of options.backends) {
    figures[backend] = await withDatabase(backend, async (db) => {
      await openStore(db.url).then((s) => s.close());
      const started = performance.now();
      await seedUsers(backend, db.url, 0, users);
      options.log(`usage ${backend}: seeded ${users} users in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      options.log(`usage ${backend}, in turns: GET /v1/entitlements and POST /v1/usage/${USAGE_FEATURE}, ${users} users`);
      const env = { USAGE_LIMITS };
      const [checks, consumes] = await measureInTurns(
        [
          {
            name: `entitlements-usage-${backend}-${users}`,
            start: () => startService(db.url, 'intake', env),
            requestsFor: entitlementRequests(users),
          },
          { name: `consume-${backend}-${users}`, start: () => startService(db.url, 'intake', env), requestsFor: consumeRequests(users) },
        ],
        options,
      );
      return { users, checks: checks!, consumes: consumes! };
    });
  }
  return figures;
}
