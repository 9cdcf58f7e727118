import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openStore } from '../src/db/index.js';
import { type Backend, benchToken, seedUsers } from './dataset.js';
import { runLoad } from './load.js';
import type { ServerProcess } from './processes.js';
import {
  type BenchOptions,
  type EntitlementFigures,
  entitlementRequests,
  type LevelFigures,
  medianOf,
  type RunFigures,
  summarise,
  withServer,
} from './scenarios.js';
import { median } from './stats.js';
import { startService, withDatabase } from './targets.js';
import type { VerifyPath, VerifyRound, VerifyRoundResult, VerifySetup } from './verify-loop.js';

/**
 * The tokens scenario: what a premium check costs in the seller's backend with the verifier
 * package (packages/verify-entitlement), against asking the service (`GET /v1/entitlements`), in
 * one run. The tokens are real: taken from the service for a sample of premium users.
 */

/** One round of verifications, summarised. */
interface VerifyRunFigures {
  verifications: number;
  /** Verifications per second of the loop (one at a time). */
  rate: number;
  /** Verifications per CPU-second of the verifying process: per core. */
  perCpuSecond: number;
  p50Us: number;
  p99Us: number;
  failed: number;
  /** Requests the verifying process sent during the round: 0 once the JWKS is cached. */
  fetches: number;
}

/** Medians over repetitions, for one way of giving the keys. */
interface VerifyFigures extends Omit<VerifyRunFigures, 'verifications'> {
  path: VerifyPath;
  reps: VerifyRunFigures[];
}

/** `GET /v1/entitlements` at the target concurrency, as the ratio's denominator. */
interface TokenCheckFigures {
  /** The entitlements scenario's measurement at its large size when it ran in this run; else this scenario's own. */
  measuredBy: 'entitlements' | 'tokens';
  users: number;
  level: LevelFigures;
  peakRssMb: number;
}

export interface TokenFigures {
  /** Distinct premium users' tokens, verified in turn. */
  tokens: number;
  /** The service they came from (and whose JWKS `jwksUrl` names). */
  tokenSource: { backend: Backend; users: number };
  /** `jwksUrl`, after its first fetch: what a seller's backend does. */
  /** Tokens seen again, as a seller's backend meets them: the verified-token cache answers. */
  repeated: VerifyFigures;
  /** Every signature checked (the first sight of each token). */
  signature: VerifyFigures;
  checks: Record<string, TokenCheckFigures>;
}

const PATHS: readonly VerifyPath[] = ['repeated', 'signature'];
/** Premium users asked for their token; the seeded statuses make about two thirds of them premium. */
const SAMPLE_USERS = 96;
const VERIFY_LOOP = fileURLToPath(new URL('./verify-loop.ts', import.meta.url));

/** The verifying child process (bench/verify-loop.ts), under tsx: the package itself is plain JavaScript, run as it ships. */
async function startVerifier(setup: VerifySetup) {
  const child: ChildProcess = fork(VERIFY_LOOP, [], {
    execArgv: ['--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ask = <T>(message: object) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (answer: T | { error: string }) => {
        child.off('exit', onExit);
        if (answer && typeof answer === 'object' && 'error' in answer) reject(new Error(`the verifier failed: ${answer.error}`));
        else resolve(answer as T);
      };
      const onExit = (code: number | null) => {
        child.off('message', onMessage);
        reject(new Error(`the verifier exited (${code}): ${stderr}`));
      };
      child.once('message', onMessage);
      child.once('exit', onExit);
      child.send(message);
    });
  await ask({ type: 'setup', ...setup });
  return {
    round: (round: VerifyRound) => ask<VerifyRoundResult>({ type: 'round', ...round }),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The tokens of premium users spread over the table, from `GET /v1/entitlements`, and the JWKS, fetched once. */
async function tokenSetup(origin: string, users: number): Promise<VerifySetup> {
  const tokens = new Set<string>();
  for (let k = 0; k < SAMPLE_USERS; k++) {
    const user = Math.floor((k * users) / SAMPLE_USERS);
    const response = await fetch(`${origin}/v1/entitlements`, { headers: { authorization: `Bearer ${benchToken(user)}` } });
    if (response.status !== 200) throw new Error(`GET /v1/entitlements for bench user ${user} answered ${response.status}`);
    const body = (await response.json()) as { premium: boolean; token: string };
    if (body.premium) tokens.add(body.token);
  }
  const [first] = tokens;
  if (!first) throw new Error(`none of ${SAMPLE_USERS} bench users is premium`);
  // The issuer the service signs with (its PUBLIC_URL by default), as a seller would configure it.
  const { iss } = JSON.parse(Buffer.from(first.split('.')[1]!, 'base64url').toString()) as { iss: string };
  return { tokens: [...tokens], issuer: iss, jwksUrl: `${origin}/.well-known/jwks.json` };
}

function summariseVerify(result: VerifyRoundResult): VerifyRunFigures {
  return {
    verifications: result.verifications,
    rate: (result.verifications / result.elapsedMs) * 1000,
    perCpuSecond: result.cpuMs > 0 ? (result.verifications / result.cpuMs) * 1000 : Number.NaN,
    p50Us: result.p50Us,
    p99Us: result.p99Us,
    failed: result.failed,
    fetches: result.fetches,
  };
}

function medianOfVerify(path: VerifyPath, reps: VerifyRunFigures[]): VerifyFigures {
  const pick = (key: 'rate' | 'perCpuSecond' | 'p50Us' | 'p99Us') => median(reps.map((r) => r[key]));
  const sum = (key: 'failed' | 'fetches') => reps.reduce((n, r) => n + r[key], 0);
  return {
    path,
    rate: pick('rate'),
    perCpuSecond: pick('perCpuSecond'),
    p50Us: pick('p50Us'),
    p99Us: pick('p99Us'),
    failed: sum('failed'),
    fetches: sum('fetches'),
    reps,
  };
}

/** A fresh database of `users` seeded users and the service on it (`PROCESS_ROLE=intake`, as the entitlements scenario runs it). */
function withSeededService<T>(backend: Backend, users: number, options: BenchOptions, body: (server: ServerProcess) => Promise<T>) {
  return withDatabase(backend, async (db) => {
    await openStore(db.url).then((s) => s.close());
    const started = performance.now();
    await seedUsers(backend, db.url, 0, users);
    options.log(`tokens ${backend}: seeded ${users} users in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return withServer(() => startService(db.url, 'intake'), body);
  });
}

/**
 * On one service: the checks at the target concurrency (when `checkUsers` is given) and the
 * verifications of premium users' tokens spread over `verifyUsers` users (when given), after a
 * warm-up, taking turns within every repetition as the servers of the other scenarios do.
 */
async function measureOn(server: ServerProcess, options: BenchOptions, parts: { checkUsers?: number; verifyUsers?: number }) {
  const c = options.targetConcurrency;
  const setup = parts.verifyUsers === undefined ? undefined : await tokenSetup(server.origin, parts.verifyUsers);
  const verifier = setup && (await startVerifier(setup));
  try {
    const requests = parts.checkUsers === undefined ? undefined : entitlementRequests(parts.checkUsers);
    if (requests) await runLoad(server.origin, requests(), { concurrency: 16, count: 500, maxMs: 10_000 });
    // The first verification of each path imports the key (and for jwksUrl fetches the set): warm-up, not measured.
    for (const path of verifier ? PATHS : []) {
      const warm = await verifier!.round({ path, count: 2000, maxMs: 2000 });
      options.log(`  tokens: ${setup!.tokens.length} premium users' tokens, ${path} warm-up sent ${warm.fetches} requests`);
    }
    const checkReps: RunFigures[] = [];
    const verifyReps: Record<VerifyPath, VerifyRunFigures[]> = { repeated: [], signature: [] };
    for (let rep = 0; rep < options.reps; rep++) {
      if (requests) {
        const before = server.usage().cpuSeconds;
        const result = await runLoad(server.origin, requests(), {
          concurrency: c,
          count: options.events,
          maxMs: options.runSeconds * 1000,
        });
        checkReps.push(summarise(result, server.usage().cpuSeconds - before));
      }
      for (const path of verifier ? PATHS : []) {
        const result = await verifier!.round({ path, count: options.verifications, maxMs: options.runSeconds * 1000 });
        verifyReps[path].push(summariseVerify(result));
      }
    }
    const level = requests ? medianOf(c, checkReps) : undefined;
    if (level)
      options.log(
        `  tokens: GET /v1/entitlements, ${parts.checkUsers} users, c=${c}: ${level.rate.toFixed(0)}/s p99 ${level.p99.toFixed(1)} ms cpu ${level.cpuMsPerRequest.toFixed(3)} ms/req failed ${level.failed}`,
      );
    const verify = verifier ? PATHS.map((path) => medianOfVerify(path, verifyReps[path])) : undefined;
    for (const v of verify ?? [])
      options.log(
        `  tokens: verifyEntitlement (${v.path}), one at a time: ${v.rate.toFixed(0)}/s, ${v.perCpuSecond.toFixed(0)} per CPU-second, p50 ${v.p50Us.toFixed(1)} µs p99 ${v.p99Us.toFixed(1)} µs failed ${v.failed}, ${v.fetches} requests sent while measured`,
      );
    return { level, verify, tokens: setup?.tokens.length ?? 0, peakRssMb: server.usage().peakRssMb };
  } finally {
    await verifier?.stop();
  }
}

/**
 * Verifications with the package in one process, and `GET /v1/entitlements` on every backend:
 * the entitlements scenario's figures at its large size when it ran before in this run, else
 * measured here at `users` users, in turns with the verifications (on the first backend).
 */
export async function benchTokens(options: BenchOptions, measured: Record<string, EntitlementFigures> = {}): Promise<TokenFigures> {
  const checks: Record<string, TokenCheckFigures> = {};
  let verified: { verify: VerifyFigures[]; tokens: number; source: TokenFigures['tokenSource'] } | undefined;
  for (const backend of options.backends) {
    const e = measured[backend];
    const level = e?.large.levels.find((l) => l.concurrency === options.targetConcurrency);
    if (e && level) {
      checks[backend] = { measuredBy: 'entitlements', users: e.users, level, peakRssMb: e.large.peakRssMb };
      options.log(`tokens ${backend}: GET /v1/entitlements as the entitlements scenario measured it at ${e.users} users`);
      continue;
    }
    await withSeededService(backend, options.users, options, async (server) => {
      const verifyUsers = verified ? undefined : options.users;
      const result = await measureOn(server, options, { checkUsers: options.users, verifyUsers });
      checks[backend] = { measuredBy: 'tokens', users: options.users, level: result.level!, peakRssMb: result.peakRssMb };
      if (result.verify) verified = { verify: result.verify, tokens: result.tokens, source: { backend, users: options.users } };
    });
  }
  if (!verified) {
    // Every backend's checks came from the entitlements scenario: a small service gives the tokens and the keys.
    const backend = options.backends[0]!;
    await withSeededService(backend, options.smallUsers, options, async (server) => {
      const result = await measureOn(server, options, { verifyUsers: options.smallUsers });
      verified = { verify: result.verify!, tokens: result.tokens, source: { backend, users: options.smallUsers } };
    });
  }
  const [repeated, signature] = verified!.verify;
  return { tokens: verified!.tokens, tokenSource: verified!.source, repeated: repeated!, signature: signature!, checks };
}
