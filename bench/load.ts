import { Pool } from 'undici';

/** A closed-loop HTTP load generator over loopback: `concurrency` requests in flight, bounded in count and time. */

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface LoadOptions {
  concurrency: number;
  /** How many requests to send at most. */
  count: number;
  /** Stops sending after this long, whatever `count` says. */
  maxMs: number;
  /** When set, requests start no faster than this (paced background traffic). */
  ratePerSecond?: number;
  /** Stops sending early when this resolves true (checked between requests). */
  shouldStop?: () => boolean;
}

export interface LoadResult {
  sent: number;
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  elapsedMs: number;
  /** Latency of every answered request, in ms. */
  latenciesMs: number[];
}

function assertLoopback(origin: string): void {
  const host = new URL(origin).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]')
    throw new Error(`benchmark traffic goes to loopback only, not ${host}`);
}

export async function runLoad(origin: string, requestAt: (i: number) => LoadRequest, options: LoadOptions): Promise<LoadResult> {
  assertLoopback(origin);
  const pool = new Pool(origin, { connections: options.concurrency, pipelining: 1, keepAliveTimeout: 10_000 });
  const result: LoadResult = { sent: 0, ok: 0, failed: 0, statuses: {}, elapsedMs: 0, latenciesMs: [] };
  const started = performance.now();
  const deadline = started + options.maxMs;
  let next = 0;
  const lane = async () => {
    for (;;) {
      if (next >= options.count || performance.now() >= deadline || options.shouldStop?.()) return;
      const i = next++;
      if (options.ratePerSecond) {
        const due = started + (i * 1000) / options.ratePerSecond;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      const request = requestAt(i);
      const sentAt = performance.now();
      result.sent++;
      try {
        const response = await pool.request({ method: request.method, path: request.path, headers: request.headers, body: request.body });
        await response.body.dump();
        result.latenciesMs.push(performance.now() - sentAt);
        const status = String(response.statusCode);
        result.statuses[status] = (result.statuses[status] ?? 0) + 1;
        if (response.statusCode >= 200 && response.statusCode < 300) result.ok++;
        else result.failed++;
      } catch {
        result.failed++;
        result.statuses.error = (result.statuses.error ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  result.elapsedMs = performance.now() - started;
  await pool.close();
  return result;
}
