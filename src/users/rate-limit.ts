import type { FastifyInstance } from 'fastify';
import type { RateLimits } from '../config/index.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The per-address limit a route opts into: `signup` counts every request, `auth` counts the
     * route's 401 answers. Routes without it (the webhook, health, metrics) are never limited.
     */
    rateLimit?: 'signup' | 'auth';
  }
}

const WINDOW_MS = 60_000;
/** Bounds memory whatever the number of client addresses; about 100 bytes each. */
const MAX_TRACKED_ADDRESSES = 100_000;

/**
 * Counts events per key in fixed one-minute windows. When full, it forgets the key whose window
 * started first: keys are re-inserted when a new window starts, so Map order is start order.
 */
export class FixedWindowCounter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly options: { windowMs?: number; maxKeys?: number; now?: () => number } = {},
  ) {}

  /** Seconds until `key` is under its limit again; 0 when it is under it now. */
  retryAfterSeconds(key: string): number {
    const window = this.current(key);
    if (!window || window.count < this.limit) return 0;
    return Math.max(1, Math.ceil((window.start + this.windowMs - this.now()) / 1000));
  }

  record(key: string): void {
    const window = this.current(key);
    if (window) {
      window.count++;
      return;
    }
    if (this.windows.size >= (this.options.maxKeys ?? MAX_TRACKED_ADDRESSES)) {
      this.windows.delete(this.windows.keys().next().value!);
    }
    this.windows.set(key, { start: this.now(), count: 1 });
  }

  get trackedKeys(): number {
    return this.windows.size;
  }

  private current(key: string): { start: number; count: number } | undefined {
    const window = this.windows.get(key);
    if (window && this.now() - window.start >= this.windowMs) {
      this.windows.delete(key);
      return undefined;
    }
    return window;
  }

  private get windowMs(): number {
    return this.options.windowMs ?? WINDOW_MS;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

/**
 * Per client address (`request.ip`, which honours TRUST_PROXY): bursts of sign-ups, and
 * requests from an address with too many recent 401s, get 429 with Retry-After. An address
 * over the failure limit is refused before its token is even looked up.
 */
export function rateLimitHooks(app: FastifyInstance, limits: RateLimits): void {
  const counters = {
    signup: new FixedWindowCounter(limits.signupsPerMinute),
    auth: new FixedWindowCounter(limits.authFailuresPerMinute),
  };

  // Callback hooks: they run on every request, and an async hook costs a promise each time.
  app.addHook('onRequest', (request, reply, done) => {
    const policy = request.routeOptions.config?.rateLimit;
    const retryAfter = policy ? counters[policy].retryAfterSeconds(request.ip) : 0;
    if (retryAfter > 0) {
      reply
        .code(429)
        .header('retry-after', String(retryAfter))
        .send({ error: 'rate_limited', message: `too many requests from this address; retry in ${retryAfter} s` });
      return;
    }
    if (policy === 'signup') counters.signup.record(request.ip);
    done();
  });

  app.addHook('onResponse', (request, reply, done) => {
    if (request.routeOptions.config?.rateLimit === 'auth' && reply.statusCode === 401) counters.auth.record(request.ip);
    done();
  });
}
