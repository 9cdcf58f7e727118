import { openStore } from '../src/db/index.js';
import { msUntilApplied } from './backlog.js';
import { type Backend, benchToken, seedUsers, userSpread } from './dataset.js';
import { buildEvents, signAll } from './events.js';
import { type LoadRequest, type LoadResult, runLoad } from './load.js';
import type { ServerProcess } from './processes.js';
import { median, percentile } from './stats.js';
import { BENCH_SECRET, startBaseline, startService, withDatabase, withDatabases } from './targets.js';

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
  /** Verifications per round of the tokens scenario, at most (and `runSeconds` at most). */
  verifications: number;
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
  /** The default deployment: how long after the run ended its last event was applied (ms). */
  appliedAfterMs?: number;
}

/** Medians over repetitions at one concurrency. */
export interface LevelFigures extends RunFigures {
  concurrency: number;
  reps: RunFigures[];
}

/** The longest wait for the burst's events to be applied, over the repetitions that measured it. */
function slowestApplied(reps: RunFigures[]): number | undefined {
  const waits = reps.flatMap((r) => (r.appliedAfterMs === undefined ? [] : [r.appliedAfterMs]));
  return waits.length > 0 ? Math.max(...waits) : undefined;
}

export interface SeriesFigures {
  name: string;
  levels: LevelFigures[];
  peakRssMb: number;
}

export function summarise(result: LoadResult, cpuSeconds: number): RunFigures {
  return {
    rate: (result.ok / result.elapsedMs) * 1000,
    p50: percentile(result.latenciesMs, 50),
    p99: percentile(result.latenciesMs, 99),
    cpuMsPerRequest: result.ok > 0 ? (cpuSeconds * 1000) / result.ok : Number.NaN,
    failed: result.failed,
  };
}

export function medianOf(concurrency: number, reps: RunFigures[]): LevelFigures {
  const pick = (key: Exclude<keyof RunFigures, 'appliedAfterMs'>) => median(reps.map((r) => r[key]));
  return {
    concurrency,
    rate: pick('rate'),
    p50: pick('p50'),
    p99: pick('p99'),
    cpuMsPerRequest: pick('cpuMsPerRequest'),
    failed: reps.reduce((n, r) => n + r.failed, 0),
    appliedAfterMs: slowestApplied(reps),
    reps,
  };
}

/** One server of a comparison, and the requests it is driven with. */
export interface Contender {
  name: string;
  start: () => Promise<ServerProcess>;
  requestsFor: (run: string, count: number) => (i: number) => LoadRequest;
  /** After each measured run, before the next server's turn: how long until the server applied what it received (ms). */
  appliedAfter?: () => Promise<number>;
}

/**
 * Starts the servers of one comparison together and drives each at every concurrency level,
 * `reps` times, after a warm-up. They take turns: every repetition of a level runs each server
 * once before the next repetition begins, so that a noisy minute of the shared host falls on all
 * of them alike, and the ratios between them (which the targets are) do not depend on which
 * server happened to run during it. A server waiting for its turn is idle.
 */
export async function measureInTurns(contenders: Contender[], options: BenchOptions): Promise<SeriesFigures[]> {
  return withServers(
    contenders.map((c) => c.start),
    async (servers) => {
      const turns = contenders.map((c, i) => ({ ...c, server: servers[i]!, levels: [] as LevelFigures[] }));
      for (const t of turns)
        await runLoad(t.server.origin, t.requestsFor(`${t.name}-warm`, 500), { concurrency: 16, count: 500, maxMs: 10_000 });
      for (const concurrency of options.concurrency) {
        const reps = turns.map((): RunFigures[] => []);
        for (let rep = 0; rep < options.reps; rep++) {
          for (const [i, t] of turns.entries()) {
            const requestAt = t.requestsFor(`${t.name}-c${concurrency}-r${rep}`, options.events);
            const before = t.server.usage().cpuSeconds;
            const result = await runLoad(t.server.origin, requestAt, {
              concurrency,
              count: options.events,
              maxMs: options.runSeconds * 1000,
            });
            const figures = summarise(result, t.server.usage().cpuSeconds - before);
            // Also keeps the server's catching up out of the next server's turn.
            if (t.appliedAfter) figures.appliedAfterMs = await t.appliedAfter();
            reps[i]!.push(figures);
          }
        }
        for (const [i, t] of turns.entries()) {
          const level = medianOf(concurrency, reps[i]!);
          const applied = level.appliedAfterMs === undefined ? '' : `, all applied ${(level.appliedAfterMs / 1000).toFixed(2)} s after`;
          options.log(
            `  ${t.name} c=${concurrency}: ${level.rate.toFixed(0)}/s p50 ${level.p50.toFixed(1)} ms p99 ${level.p99.toFixed(1)} ms cpu ${level.cpuMsPerRequest.toFixed(3)} ms/req failed ${level.failed}${applied}`,
          );
          t.levels.push(level);
        }
      }
      return turns.map((t) => ({ name: t.name, levels: t.levels, peakRssMb: t.server.usage().peakRssMb }));
    },
  );
}

let runCounter = 0;
/** A prefix no other run of this process or of earlier processes uses, so every event is new. */
export function uniquePrefix(run: string): string {
  return `${Date.now().toString(36)}${(runCounter++).toString(36)}${run.replace(/[^a-z0-9]/gi, '').slice(-6)}`;
}

/** Stripe accepts a signature for 300 s: deliveries of a longer run (the soak) are signed again as they are sent. */
const SIGNATURES_FRESH_MS = 240_000;

/** Unique signed deliveries for one run, signed right before it starts. */
export function webhookRequests(path: string) {
  return (run: string, count: number) => {
    const events = buildEvents({
      prefix: uniquePrefix(run),
      subscriptions: count,
      eventsPerSubscription: 1,
      firstCreated: Math.floor(Date.now() / 1000),
    });
    const deliveries = signAll(events, BENCH_SECRET);
    const signedAt = Date.now();
    return (i: number): LoadRequest => {
      const index = i % deliveries.length;
      const d = Date.now() - signedAt < SIGNATURES_FRESH_MS ? deliveries[index]! : signAll([events[index]!], BENCH_SECRET)[0]!;
      return { method: 'POST', path, headers: { 'content-type': 'application/json', 'stripe-signature': d.signature }, body: d.body };
    };
  };
}

/** Runs `body` with the servers started one after another, and stops every one started, whatever happens. */
async function withServers<T>(starts: (() => Promise<ServerProcess>)[], body: (servers: ServerProcess[]) => Promise<T>): Promise<T> {
  const servers: ServerProcess[] = [];
  try {
    for (const start of starts) servers.push(await start());
    return await body(servers);
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

export function withServer<T>(start: () => Promise<ServerProcess>, body: (server: ServerProcess) => Promise<T>): Promise<T> {
  return withServers([start], ([server]) => body(server!));
}

export interface IntakeFigures {
  /** The default deployment (`npm start`: PROCESS_ROLE=all, intake and worker in one process), per database. */
  service: Record<string, SeriesFigures>;
  /** A PROCESS_ROLE=intake process, no worker anywhere: intake alone, per database. */
  intakeRole: Record<string, SeriesFigures>;
  /** node:http verifying and storing through the service's own group commit, per database (bench/baselines/store-only.ts). */
  storeOnly: Record<string, SeriesFigures>;
  floor: SeriesFigures;
  docsStyle: SeriesFigures;
}

/** A burst's events are applied within this after it ends (the target); the bench waits 6× as long before calling it never. */
export const APPLIED_AFTER_BURST_MS = 10_000;

/**
 * The baselines and the service on every backend, in turns: the default deployment (after each of
 * its runs, the bench waits for the burst to be applied and times it), intake alone on a
 * PROCESS_ROLE=intake process, and store-only. Each server has its own database.
 */
export async function benchIntake(options: BenchOptions): Promise<IntakeFigures> {
  const requestsFor = webhookRequests('/webhooks/stripe');
  const { backends } = options;
  const n = backends.length;
  return withDatabases(['postgres', ...backends, ...backends, ...backends], async ([docsStyleDb, ...dbs]) => {
    const readers = await Promise.all(backends.map((_, i) => openStore(dbs[i]!.url, { migrate: false })));
    try {
      const contenders: Contender[] = [
        { name: 'floor', start: () => startBaseline('floor'), requestsFor },
        { name: 'docs-style', start: () => startBaseline('docs-style', docsStyleDb!.url), requestsFor },
        ...backends.map((backend, i) => ({
          name: `default-${backend}`,
          start: () => startService(dbs[i]!.url, 'all'),
          requestsFor,
          appliedAfter: () => msUntilApplied(readers[i]!, 6 * APPLIED_AFTER_BURST_MS),
        })),
        ...backends.map((backend, i) => ({
          name: `intake-role-${backend}`,
          start: () => startService(dbs[n + i]!.url, 'intake'),
          requestsFor,
        })),
        ...backends.map((backend, i) => ({
          name: `store-only-${backend}`,
          start: () => startBaseline('store-only', dbs[2 * n + i]!.url),
          requestsFor,
        })),
      ];
      options.log(`intake, in turns: ${contenders.map((c) => c.name).join(', ')}`);
      const [floor, docsStyle, ...perBackend] = await measureInTurns(contenders, options);
      const part = (k: number) => Object.fromEntries(backends.map((backend, i) => [backend, perBackend[k * n + i]!]));
      return { floor: floor!, docsStyle: docsStyle!, service: part(0), intakeRole: part(1), storeOnly: part(2) };
    } finally {
      await Promise.all(readers.map((reader) => reader.close()));
    }
  });
}

export interface EntitlementFigures {
  /** The default deployment (`npm start`: PROCESS_ROLE=all) at `smallUsers` and at `users` users. */
  small: SeriesFigures;
  large: SeriesFigures;
  /** A PROCESS_ROLE=intake process (no worker in it) at `users` users. */
  largeIntakeRole: SeriesFigures;
  floor: SeriesFigures;
  /** node:http running only the service's entitlement query, at `users` users (bench/baselines/lookup-only.ts). */
  lookupOnly: SeriesFigures;
  smallUsers: number;
  users: number;
}

export function entitlementRequests(users: number) {
  return () => {
    const user = userSpread(users);
    return (): LoadRequest => ({ method: 'GET', path: '/v1/entitlements', headers: { authorization: `Bearer ${benchToken(user())}` } });
  };
}

/** The constant-JSON floor, the default deployment at both sizes, intake's role and the lookup alone at the large size, in turns. */
export async function benchEntitlements(backend: Backend, options: BenchOptions): Promise<EntitlementFigures> {
  return withDatabases([backend, backend], async ([smallDb, largeDb]) => {
    for (const [db, users] of [
      [smallDb!, options.smallUsers],
      [largeDb!, options.users],
    ] as const) {
      await openStore(db.url).then((s) => s.close());
      const started = performance.now();
      await seedUsers(backend, db.url, 0, users);
      options.log(`entitlements ${backend}: seeded ${users} users in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    options.log(
      `entitlements ${backend}, in turns: constant-JSON floor, the default deployment at ${options.smallUsers} and ${options.users} users, intake's role and the lookup alone at ${options.users}`,
    );
    const [floor, small, large, largeIntakeRole, lookupOnly] = await measureInTurns(
      [
        { name: 'constant-json', start: () => startBaseline('constant-json'), requestsFor: entitlementRequests(1) },
        {
          name: `default-${backend}-${options.smallUsers}`,
          start: () => startService(smallDb!.url, 'all'),
          requestsFor: entitlementRequests(options.smallUsers),
        },
        {
          name: `default-${backend}-${options.users}`,
          start: () => startService(largeDb!.url, 'all'),
          requestsFor: entitlementRequests(options.users),
        },
        {
          name: `intake-role-${backend}-${options.users}`,
          start: () => startService(largeDb!.url, 'intake'),
          requestsFor: entitlementRequests(options.users),
        },
        {
          name: `lookup-only-${backend}-${options.users}`,
          start: () => startBaseline('lookup-only', largeDb!.url),
          requestsFor: entitlementRequests(options.users),
        },
      ],
      options,
    );
    return {
      small: small!,
      large: large!,
      largeIntakeRole: largeIntakeRole!,
      floor: floor!,
      lookupOnly: lookupOnly!,
      smallUsers: options.smallUsers,
      users: options.users,
    };
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
    return withServer(
      () => startService(db.url, 'all'),
      async (server) => {
        const ms = options.soakSeconds * 1000;
        const samples: { at: number; rss: number }[] = [];
        const started = performance.now();
        const sampler = setInterval(() => samples.push({ at: performance.now() - started, rss: server.usage().rssMb }), 1000);
        // Paced well under capacity: a soak looks for leaks, not for the ceiling.
        const intakeRate = 200;
        const checkRate = 1000;
        const [intake, checks] = await Promise.all([
          runLoad(server.origin, webhookRequests('/webhooks/stripe')('soak', intakeRate * options.soakSeconds), {
            concurrency: 8,
            count: intakeRate * options.soakSeconds,
            maxMs: ms,
            ratePerSecond: intakeRate,
          }),
          runLoad(server.origin, entitlementRequests(options.smallUsers)(), {
            concurrency: 8,
            count: checkRate * options.soakSeconds,
            maxMs: ms,
            ratePerSecond: checkRate,
          }),
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
        options.log(
          `soak ${backend}: RSS ${early.toFixed(1)} -> ${late.toFixed(1)} MB (${figures.growthPercent.toFixed(1)} %), peak ${figures.peakRssMb.toFixed(1)} MB, ${intake.ok} events, ${checks.ok} checks, ${figures.failed} failed`,
        );
        return figures;
      },
    );
  });
}
