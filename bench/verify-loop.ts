import { type VerifyEntitlementOptions, verifyEntitlement } from '../packages/verify-entitlement/index.js';
import { percentile } from './stats.js';

/**
 * The seller's side of the tokens scenario (bench/token-verify.ts), as a child process of its
 * own: the verifier package checking tokens one at a time in a tight async loop, as a premium
 * route in a seller's backend would. Told its tokens and keys once, then measures one round per
 * message and answers what it measured. Nothing else runs in this process.
 */

/**
 * Both with the keys from the service's URL (fetched once, then cached): `repeated` as a seller's
 * backend meets tokens, each again on later requests (the verified-token cache answers), and
 * `signature` with that cache off, so that every verification checks the Ed25519 signature.
 */
export type VerifyPath = 'repeated' | 'signature';

export interface VerifySetup {
  tokens: string[];
  issuer: string;
  jwksUrl: string;
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
    // One options object per path for the whole process, as a seller's module would hold it.
    const options = { jwksUrl: message.jwksUrl, issuer: message.issuer };
    optionsByPath = { repeated: options, signature: { ...options, verifiedCacheMs: 0 } };
    return { ready: true };
  };
  answer().then(
    (result) => process.send!(result),
    (error: unknown) => process.send!({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});
