import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import SqliteDatabase from 'better-sqlite3';
import type { StripeStandIn } from './stripe-stand-in/server.js';

/**
 * The demo's fourth scenario: our processing fails for a temporary reason, and the retry after
 * the configured interval puts it right. The reason is real: Stripe's API (the stand-in, which
 * the service refetches each subscription from) answers 500 to the request and to the `stripe`
 * client's own retries, as during an outage of a few seconds.
 */

/** The demo service's RETRY_SCHEDULE: a first retry 2 s after a failure (±10 % jitter), so that the demo shows it within seconds. */
export const DEMO_RETRY_SCHEDULE = '2s,10s';
const RETRY_MS = 2000;
/** The service's request and the two retries of the `stripe` client (STRIPE_MAX_NETWORK_RETRIES, default 2). */
const FAILED_REQUESTS = 3;

/** The service's JSON log lines, as they pass to the terminal. */
export class ServiceLog {
  readonly lines: Record<string, unknown>[] = [];
  private partial = '';

  constructor(stream: NodeJS.ReadableStream) {
    stream.on('data', (chunk: Buffer) => {
      const text = this.partial + chunk.toString();
      const complete = text.split('\n');
      this.partial = complete.pop() ?? '';
      for (const line of complete) {
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // Not a log line (npm's or tsx's own output).
        }
      }
    });
  }
}

interface Attempt {
  attempt: number;
  started_at: number;
  finished_at: number;
  outcome: string;
  error: string | null;
}

async function waitFor<T>(read: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Makes Stripe's API fail for the subscription, runs `act` (which makes Stripe send an event
 * about it), then checks, in order: the delivery was acknowledged (stored), the failure was
 * logged with the event id, the attempt and the next attempt time, the retry came after the
 * interval and applied it, and the CLI's attempt log shows both attempts. Returns what to print;
 * throws at the first check that does not hold.
 */
export async function temporaryFailure(
  options: { standIn: StripeStandIn; subscriptionId: string; log: ServiceLog; databasePath: string },
  act: () => Promise<unknown>,
): Promise<string> {
  const { standIn, log } = options;
  standIn.injectFailure({ kind: 500, times: FAILED_REQUESTS, path: `/v1/subscriptions/${options.subscriptionId}` });
  const deliveredBefore = standIn.webhooks.attempts.length;
  const loggedBefore = log.lines.length;
  await act();

  const failure = await waitFor(
    () => log.lines.slice(loggedBefore).find((l) => l.msg === 'event processing failed; will retry'),
    'the failure log line',
  );
  const eventId = String(failure.eventId);
  const delivery = standIn.webhooks.attempts.slice(deliveredBefore).find((a) => a.eventId === eventId);
  if (delivery?.status !== 200) throw new Error(`the delivery of ${eventId} was answered ${delivery?.status ?? 'never'}, not 200`);
  if (failure.attempt !== 1 || typeof failure.nextAttemptAt !== 'string')
    throw new Error(`the failure was logged without its attempt or next attempt time: ${JSON.stringify(failure)}`);

  const database = new SqliteDatabase(options.databasePath, { readonly: true });
  let attempts: Attempt[];
  try {
    attempts = await waitFor(() => {
      const rows = database.prepare('select * from event_attempts where event_id = ? order by id').all(eventId) as Attempt[];
      return rows.some((r) => r.outcome === 'applied') ? rows : undefined;
    }, `the retry of ${eventId}`);
  } finally {
    database.close();
  }
  const [failed, applied] = attempts;
  if (attempts.length !== 2 || failed!.outcome !== 'failed' || applied!.outcome !== 'applied')
    throw new Error(`attempts were ${attempts.map((a) => a.outcome).join(', ')}, not failed then applied`);
  const waitedMs = applied!.started_at - failed!.finished_at;
  if (waitedMs < RETRY_MS * 0.9) throw new Error(`the retry came ${waitedMs} ms after the failure, before the ${RETRY_MS} ms interval`);

  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'events', 'show', eventId], {
    env: { PATH: process.env.PATH, DATABASE_URL: `sqlite:${options.databasePath}` },
  });
  const attemptLog = stdout.slice(stdout.indexOf('attempts:')).trim();
  if (!/\bfailed\b/.test(attemptLog) || !/\bapplied\b/.test(attemptLog))
    throw new Error(`npm run cli -- events show ${eventId} does not list the failed and the applied attempt:\n${stdout}`);

  return [
    `Stripe's API answered 500 to ${FAILED_REQUESTS} requests for ${options.subscriptionId} (the service's and the client's 2 retries); RETRY_SCHEDULE=${DEMO_RETRY_SCHEDULE}`,
    `the delivery of ${eventId} was acknowledged: ${delivery.status} (stored before it was processed)`,
    `the service logged: ${JSON.stringify(failure)}`,
    `retried ${(waitedMs / 1000).toFixed(1)} s after the failure, and applied`,
    `npm run cli -- events show ${eventId}:`,
    ...attemptLog.split('\n').map((line) => `  ${line}`),
  ].join('\n      ');
}
