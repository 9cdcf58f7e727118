import { type EntitlementJwks, type VerifyEntitlementOptions, verifyEntitlement } from '../packages/verify-entitlement/index.js';
import { percentile } from './stats.js';

/**
 * The seller's side of the tokens scenario (bench/token-verify.ts), as a child process of its
 * own: the verifier package checking tokens one at a time in a tight async loop, as a premium
 * route in a seller's backend would. Told its tokens and keys once, then measures one round per
 * message and answers what it measured. Nothing else runs in this process.
 */

/** The keys either way a seller can give them: fetched from the service's URL (then cached), or inline. */
export type VerifyPath = 'jwksUrl' | 'jwks';

export interface VerifySetup {
  tokens: string[];
  issuer: string;
  jwksUrl: string;
  jwks: EntitlementJwks;
}

export interface VerifyRound {
  path: VerifyPath;
  /** Verifications at most, and `maxMs` at most. */
  count: number;
  maxMs: number;
}

export interface VerifyRoundResult {
  verifications: number;
  /** Refused, or not premium (every token given is a premium user's). */
  failed: number;
  elapsedMs: number;
  /** This process's user + system CPU time over the round, every thread included (WebCrypto runs on the thread pool). */
  cpuMs: number;
  p50Us: number;
  p99Us: number;
  /** Requests this process sent during the round (the JWKS, fetched on first use and when stale). */
  fetches: number;
}

type Message = ({ type: 'setup' } & VerifySetup) | ({ type: 'round' } & VerifyRound);

let fetches = 0;
const realFetch = globalThis.fetch;
// jose fetches the JWKS with the global fetch, read at each call: counted, so the report can say the rounds made no network call.
globalThis.fetch = (...args: Parameters<typeof fetch>) => {
  fetches++;
  return realFetch(...args);
};

let tokens: string[] = [];
let optionsByPath: Record<VerifyPath, VerifyEntitlementOptions> | undefined;

async function round({ path, count, maxMs }: VerifyRound): Promise<VerifyRoundResult> {
  const options = optionsByPath![path];
  const latenciesMs = new Float64Array(count);
  let n = 0;
  let failed = 0;
  fetches = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + maxMs;
  while (n < count) {
    const token = tokens[n % tokens.length]!;
    const sentAt = performance.now();
    try {
      if (!(await verifyEntitlement(token, options)).premium) failed++;
    } catch {
      failed++;
    }
    const doneAt = performance.now();
    latenciesMs[n++] = doneAt - sentAt;
    if (doneAt >= deadline) break;
  }
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const measured = latenciesMs.subarray(0, n);
  return {
    verifications: n,
    failed,
    elapsedMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    p50Us: percentile(measured, 50) * 1000,
    p99Us: percentile(measured, 99) * 1000,
    fetches,
  };
}

process.on('message', (message: Message) => {
  const answer = async (): Promise<VerifyRoundResult | { ready: true }> => {
    if (message.type === 'round') return round(message);
    tokens = message.tokens;
    // One options object per path for the whole process, as a seller's module would hold it (the inline set is cached per object).
    optionsByPath = { jwksUrl: { jwksUrl: message.jwksUrl, issuer: message.issuer }, jwks: { jwks: message.jwks, issuer: message.issuer } };
    return { ready: true };
  };
  answer().then(
    (result) => process.send!(result),
    (error: unknown) => process.send!({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});
