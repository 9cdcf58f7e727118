import { openStore } from '../src/db/index.js';
import { type Backend, benchToken, seedBacklog, seedUsers } from './dataset.js';
import { buildEvents, signAll, userIdOf } from './events.js';
import { type LoadRequest, type LoadResult, runLoad } from './load.js';
import type { ServerProcess } from './processes.js';
import { median, percentile } from './stats.js';
import { BENCH_SECRET, startBaseline, startService, withDatabase } from './targets.js';

export interface BenchOptions {
  backends: Backend[];
  concurrency: number[];
  /** The concurrency the targets are judged at. */
  targetConcurrency: number;
  reps: number;
  /** Requests per measured run, at most (and `runSeconds` at most). */
  events: number;
  runSeconds: number;
  backlog: number;
  drainSeconds: number;
  /** Background intake while the backlog drains. */
  drainIntakeRate: number;
  /** Backlog events name existing users in `metadata.user_id`, so that applying them links customers. */
  linkedUsers: boolean;
  users: number;
  smallUsers: number;
  soakSeconds: number;
  soakBackend: Backend;
  log: (line: string) => void;
}

/** One measured run, summarised. */
export interface RunFigures {
  rate: number;
  p50: number;
  p99: number;
  cpuMsPerRequest: number;
  failed: number;
}

/** Medians over repetitions at one concurrency. */
export interface LevelFigures extends RunFigures {
  concurrency: number;
  reps: RunFigures[];
}

export interface SeriesFigures {
  name: string;
  levels: LevelFigures[];
  peakRssMb: number;
}

function summarise(result: LoadResult, cpuSeconds: number): RunFigures {
  return {
    rate: (result.ok / result.elapsedMs) * 1000,
    p50: percentile(result.latenciesMs, 50),
    p99: percentile(result.latenciesMs, 99),
    cpuMsPerRequest: result.ok > 0 ? (cpuSeconds * 1000) / result.ok : Number.NaN,
    failed: result.failed,
  };
}

function medianOf(concurrency: number, reps: RunFigures[]): LevelFigures {
  const pick = (key: keyof RunFigures) => median(reps.map((r) => r[key]));
  return { concurrency, rate: pick('rate'), p50: pick('p50'), p99: pick('p99'), cpuMsPerRequest: pick('cpuMsPerRequest'), failed: reps.reduce((n, r) => n + r.failed, 0), reps };
}

/** Drives one server at every concurrency level, `reps` times each, after a warm-up. */
async function measureSeries(
  name: string,
  server: ServerProcess,
  options: BenchOptions,
  requestsFor: (run: string, count: number) => (i: number) => LoadRequest,
): Promise<SeriesFigures> {
  await runLoad(server.origin, requestsFor(`${name}-warm`, 500), { concurrency: 16, count: 500, maxMs: 10_000 });
  const levels: LevelFigures[] = [];
  for (const concurrency of options.concurrency) {
    const reps: RunFigures[] = [];
    for (let rep = 0; rep < options.reps; rep++) {
      const requestAt = requestsFor(`${name}-c${concurrency}-r${rep}`, options.events);
      const before = server.usage().cpuSeconds;
      const result = await runLoad(server.origin, requestAt, { concurrency, count: options.events, maxMs: options.runSeconds * 1000 });
      reps.push(summarise(result, server.usage().cpuSeconds - before));
    }
    const level = medianOf(concurrency, reps);
    options.log(`  ${name} c=${concurrency}: ${level.rate.toFixed(0)}/s p50 ${level.p50.toFixed(1)} ms p99 ${level.p99.toFixed(1)} ms cpu ${level.cpuMsPerRequest.toFixed(3)} ms/req failed ${level.failed}`);
    levels.push(level);
  }
  return { name, levels, peakRssMb: server.usage().peakRssMb };
}

let runCounter = 0;
/** A prefix no other run of this process or of earlier processes uses, so every event is new. */
function uniquePrefix(run: string): string {
  return `${Date.now().toString(36)}${(runCounter++).toString(36)}${run.replace(/[^a-z0-9]/gi, '').slice(-6)}`;
}

/** Stripe accepts a signature for 300 s: deliveries of a longer run (the soak) are signed again as they are sent. */
const SIGNATURES_FRESH_MS = 240_000;

/** Unique signed deliveries for one run, signed right before it starts. */
export function webhookRequests(path: string) {
  return (run: string, count: number) => {
    const events = buildEvents({ prefix: uniquePrefix(run), subscriptions: count, eventsPerSubscription: 1, firstCreated: Math.floor(Date.now() / 1000) });
    const deliveries = signAll(events, BENCH_SECRET);
    const signedAt = Date.now();
    return (i: number): LoadRequest => {
      const index = i % deliveries.length;
      const d = Date.now() - signedAt < SIGNATURES_FRESH_MS ? deliveries[index]! : signAll([events[index]!], BENCH_SECRET)[0]!;
      return { method: 'POST', path, headers: { 'content-type': 'application/json', 'stripe-signature': d.signature }, body: d.body };
    };
  };
}

async function withServer<T>(start: Promise<ServerProcess>, body: (server: ServerProcess) => Promise<T>): Promise<T> {
  const server = await start;
  try {
    return await body(server);
  } finally {
    await server.stop();
  }
}

export interface IntakeFigures {
  service: Record<string, SeriesFigures>;
  /** node:http verifying and storing through the service's own group commit, per database (bench/baselines/store-only.ts). */
  storeOnly: Record<string, SeriesFigures>;
  floor: SeriesFigures;
  docsStyle: SeriesFigures;
}

export async function benchIntake(options: BenchOptions): Promise<IntakeFigures> {
  const requests = webhookRequests('/webhooks/stripe');
  options.log('intake: floor baseline');
  const floor = await withServer(startBaseline('floor'), (s) => measureSeries('floor', s, options, requests));
  options.log('intake: docs-style baseline (PostgreSQL)');
  const docsStyle = await withDatabase('postgres', (db) => withServer(startBaseline('docs-style', db.url), (s) => measureSeries('docs-style', s, options, requests)));
  const service: Record<string, SeriesFigures> = {};
  const storeOnly: Record<string, SeriesFigures> = {};
  for (const backend of options.backends) {
    options.log(`intake: service on ${backend}`);
    service[backend] = await withDatabase(backend, (db) => withServer(startService(db.url, 'intake'), (s) => measureSeries(`service-${backend}`, s, options, requests)));
    options.log(`intake: storing alone on ${backend}`);
    storeOnly[backend] = await withDatabase(backend, (db) => withServer(startBaseline('store-only', db.url), (s) => measureSeries(`store-only-${backend}`, s, options, requests)));
  }
  return { service, storeOnly, floor, docsStyle };
}

export interface ProcessingFigures {
  backlog: number;
  /** Median drain rate over repetitions, events/s. */
  rate: number;
  rates: number[];
  intakeP99: number;
  intakeP99s: number[];
  intakeFailed: number;
  drained: boolean;
  peakRssMb: number;
}

/** Drains a stored backlog with the default deployment (intake and worker in one process) while intake keeps receiving. */
export async function benchProcessing(backend: Backend, options: BenchOptions): Promise<ProcessingFigures> {
  const rates: number[] = [];
  const intakeP99s: number[] = [];
  let intakeFailed = 0;
  let drained = true;
  let peakRssMb = 0;
  for (let rep = 0; rep < options.reps; rep++) {
    await withDatabase(backend, async (db) => {
      const subscriptions = Math.max(1, Math.floor(options.backlog / 5));
      const plan = { prefix: uniquePrefix('backlog'), subscriptions, eventsPerSubscription: Math.ceil(options.backlog / subscriptions), firstCreated: Math.floor(Date.now() / 1000) - 3600, linkedUsers: options.linkedUsers };
      const users = options.linkedUsers ? Array.from({ length: subscriptions }, (_, s) => userIdOf(plan, s)) : [];
      await seedBacklog(db.url, buildEvents(plan).slice(0, options.backlog), users);
      const store = await openStore(db.url, { migrate: false });
      try {
        const unfinished = async (receivedBefore = Number.MAX_SAFE_INTEGER) =>
          Number((await store.db.selectFrom('webhook_events').select((eb) => eb.fn.countAll().as('n')).where('status', 'in', ['pending', 'processing', 'failed']).where('received_at', '<', receivedBefore).executeTakeFirstOrThrow()).n);
        // The backlog is drained when every event stored before the drain is finished: intake keeps
        // a few events in flight at any moment, so waiting for none at all could last the whole run.
        const backlogStoredBefore = Date.now();
        await withServer(startService(db.url, 'all'), async (server) => {
          let done = false;
          const started = performance.now();
          const background = runLoad(server.origin, webhookRequests('/webhooks/stripe')(`drain-${rep}`, options.drainIntakeRate * options.drainSeconds), {
            concurrency: 16,
            count: options.drainIntakeRate * options.drainSeconds,
            maxMs: options.drainSeconds * 1000,
            ratePerSecond: options.drainIntakeRate,
            shouldStop: () => done,
          });
          let left = await unfinished(backlogStoredBefore);
          while (left > 0 && performance.now() - started < options.drainSeconds * 1000) {
            await new Promise((resolve) => setTimeout(resolve, 250));
            left = await unfinished(backlogStoredBefore);
          }
          const elapsed = (performance.now() - started) / 1000;
          const unprocessed = await unfinished();
          done = true;
          const intake = await background;
          if (left > 0) drained = false;
          rates.push((options.backlog + intake.ok - unprocessed) / elapsed);
          intakeP99s.push(percentile(intake.latenciesMs, 99));
          intakeFailed += intake.failed;
          peakRssMb = Math.max(peakRssMb, server.usage().peakRssMb);
          options.log(`  processing ${backend} rep ${rep}: ${rates.at(-1)!.toFixed(0)} events/s over ${elapsed.toFixed(1)} s, intake p99 ${intakeP99s.at(-1)!.toFixed(1)} ms (${intake.ok} received), backlog left ${left}`);
        });
      } finally {
        await store.close();
      }
    });
  }
  return { backlog: options.backlog, rate: median(rates), rates, intakeP99: median(intakeP99s), intakeP99s, intakeFailed, drained, peakRssMb };
}

export interface EntitlementFigures {
  small: SeriesFigures;
  large: SeriesFigures;
  floor: SeriesFigures;
  /** node:http running only the service's entitlement query, at `users` users (bench/baselines/lookup-only.ts). */
  lookupOnly: SeriesFigures;
  smallUsers: number;
  users: number;
}

function entitlementRequests(users: number) {
  return () => {
    let seed = 2463534242;
    return (): LoadRequest => {
      // A fixed-seed xorshift: runs are repeatable, users spread over the whole table.
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      seed >>>= 0;
      return { method: 'GET', path: '/v1/entitlements', headers: { authorization: `Bearer ${benchToken(seed % users)}` } };
    };
  };
}

export async function benchEntitlements(backend: Backend, options: BenchOptions): Promise<EntitlementFigures> {
  options.log(`entitlements: constant-JSON floor`);
  const floor = await withServer(startBaseline('constant-json'), (s) => measureSeries('constant-json', s, options, entitlementRequests(1)));
  return withDatabase(backend, async (db) => {
    await openStore(db.url).then((s) => s.close());
    let started = performance.now();
    await seedUsers(backend, db.url, 0, options.smallUsers);
    options.log(`entitlements ${backend}: seeded ${options.smallUsers} users in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const small = await withServer(startService(db.url, 'intake'), (s) => measureSeries(`entitlements-${backend}-${options.smallUsers}`, s, options, entitlementRequests(options.smallUsers)));
    started = performance.now();
    await seedUsers(backend, db.url, options.smallUsers, options.users);
    options.log(`entitlements ${backend}: seeded up to ${options.users} users in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const large = await withServer(startService(db.url, 'intake'), (s) => measureSeries(`entitlements-${backend}-${options.users}`, s, options, entitlementRequests(options.users)));
    options.log(`entitlements ${backend}: the lookup alone`);
    const lookupOnly = await withServer(startBaseline('lookup-only', db.url), (s) => measureSeries(`lookup-only-${backend}-${options.users}`, s, options, entitlementRequests(options.users)));
    return { small, large, floor, lookupOnly, smallUsers: options.smallUsers, users: options.users };
  });
}

export interface SoakFigures {
  backend: Backend;
  seconds: number;
  /** Median RSS over the first and the last tenth of the soak (after a warm-up tenth). */
  earlyRssMb: number;
  lateRssMb: number;
  growthPercent: number;
  peakRssMb: number;
  intakeOk: number;
  checksOk: number;
  failed: number;
}

/** Intake and entitlement checks together for `soakSeconds`, sampling the server's RSS every second. */
export async function benchSoak(options: BenchOptions): Promise<SoakFigures> {
  const backend = options.soakBackend;
  return withDatabase(backend, async (db) => {
    await openStore(db.url).then((s) => s.close());
    await seedUsers(backend, db.url, 0, options.smallUsers);
    return withServer(startService(db.url, 'all'), async (server) => {
      const ms = options.soakSeconds * 1000;
      const samples: { at: number; rss: number }[] = [];
      const started = performance.now();
      const sampler = setInterval(() => samples.push({ at: performance.now() - started, rss: server.usage().rssMb }), 1000);
      // Paced well under capacity: a soak looks for leaks, not for the ceiling.
      const intakeRate = 200;
      const checkRate = 1000;
      const [intake, checks] = await Promise.all([
        runLoad(server.origin, webhookRequests('/webhooks/stripe')('soak', intakeRate * options.soakSeconds), { concurrency: 8, count: intakeRate * options.soakSeconds, maxMs: ms, ratePerSecond: intakeRate }),
        runLoad(server.origin, entitlementRequests(options.smallUsers)(), { concurrency: 8, count: checkRate * options.soakSeconds, maxMs: ms, ratePerSecond: checkRate }),
      ]);
      clearInterval(sampler);
      const tenth = ms / 10;
      const early = median(samples.filter((s) => s.at >= tenth && s.at < 2 * tenth).map((s) => s.rss));
      const late = median(samples.filter((s) => s.at >= ms - tenth).map((s) => s.rss));
      const figures = {
        backend,
        seconds: options.soakSeconds,
        earlyRssMb: early,
        lateRssMb: late,
        growthPercent: ((late - early) / early) * 100,
        peakRssMb: server.usage().peakRssMb,
        intakeOk: intake.ok,
        checksOk: checks.ok,
        failed: intake.failed + checks.failed,
      };
      options.log(`soak ${backend}: RSS ${early.toFixed(1)} -> ${late.toFixed(1)} MB (${figures.growthPercent.toFixed(1)} %), peak ${figures.peakRssMb.toFixed(1)} MB, ${intake.ok} events, ${checks.ok} checks, ${figures.failed} failed`);
      return figures;
    });
  });
}
