import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import type { AlertSettings } from './ops/index.js';
import type { JwtSettings } from './users/index.js';

/** Everything the service reads from its environment, validated once at start. */
export interface Config {
  production: boolean;
  databaseUrl: string;
  host: string;
  port: number;
  /** Every configured `whsec_` secret; a delivery signed with any of them is accepted (rotation). */
  webhookSecrets: string[];
  /** Where the webhook secrets came from: the environment, or generated for local mode. */
  webhookSecretSource: 'env' | 'generated' | 'stored';
  stripeSecretKey: string | undefined;
  /** Base URL of Stripe's API (a local stand-in in tests and the demo); undefined means Stripe's own. */
  stripeApiUrl: string | undefined;
  /** Retries the `stripe` client makes itself (connection errors, 5xx, 409) before a call fails. */
  stripeMaxNetworkRetries: number;
  stripeTimeoutMs: number;
  /** Prices a user may subscribe to through Checkout; the default one is used when none is named. */
  priceIds: string[];
  defaultPriceId: string | undefined;
  checkoutSuccessUrl: string;
  checkoutCancelUrl: string;
  portalReturnUrl: string;
  /** `refetch`: a subscription event makes the worker store Stripe's current state; `payload`: the event's own object. */
  syncMode: SyncMode;
  /** How often the worker compares every subscription with Stripe and repairs differences; undefined: never. */
  reconcileIntervalMs: number | undefined;
  /** Whether the worker backfills missed events from Stripe when it starts. */
  backfillOnStart: boolean;
  pastDueGraceHours: number;
  adminToken: string | undefined;
  /** Optional price id → feature lookup keys, used when Stripe sends no entitlement summary. */
  priceFeatures: Record<string, string[]>;
  /** Delays (ms) before each retry of a failed event; after the last one the event is dead. */
  retrySchedule: number[];
  /** What this process runs: intake and the sync worker (default), intake only, or the worker only. */
  processRole: ProcessRole;
  /** Applied and ignored events older than this many days are pruned; dead ones are kept. */
  eventRetentionDays: number;
  workerConcurrency: number;
  /** How long a worker's claim on an event lasts before another worker may take it over. */
  workerLeaseMs: number;
  /** The seller's own sign-in, whose JWTs are accepted as bearer tokens; off unless all three AUTH_ variables are set. */
  jwt: JwtSettings | undefined;
  /** Built-in Slack-compatible alerts; off without ALERT_WEBHOOK_URL. */
  alerts: AlertSettings | undefined;
  dataDir: string;
  logLevel: string;
  /** Browser origins (the extension's `chrome-extension://<id>`) that may call the `/v1` routes. */
  extensionOrigins: string[];
  rateLimits: RateLimits;
  /** Which peers may set X-Forwarded-For: false (none), a hop count, or proxy addresses/CIDRs. */
  trustProxy: false | number | string[];
  httpTimeouts: HttpTimeouts;
}

export type ProcessRole = 'all' | 'intake' | 'worker';
export type SyncMode = 'payload' | 'refetch';

/** Per client address and minute; a request over the limit is answered 429. */
export interface RateLimits {
  signupsPerMinute: number;
  authFailuresPerMinute: number;
}

/** How long a client may take to send its headers, and its whole request. */
export interface HttpTimeouts {
  headersMs: number;
  requestMs: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = { signupsPerMinute: 30, authFailuresPerMinute: 60 };
export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = { headersMs: 10_000, requestMs: 30_000 };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "30s,2m,1h" into milliseconds; undefined when any part is malformed. */
export function parseDurationList(text: string): number[] | undefined {
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  const out: number[] = [];
  for (const part of parts) {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(part);
    if (!match) return undefined;
    out.push(Math.round(Number(match[1]) * DURATION_UNITS[match[2]!]!));
  }
  return out.length > 0 ? out : undefined;
}

/** One duration such as "72h" in milliseconds; undefined when malformed or not exactly one. */
export function parseDuration(text: string): number | undefined {
  const list = parseDurationList(text);
  return list?.length === 1 ? list[0] : undefined;
}

/** `scheme://host[:port]`, exactly as a browser sends it in `Origin`: no path, no wildcard. */
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/\s*?#]+$/;
/** Named ranges that Fastify's proxy-addr understands. */
const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** A hop count, or a list of proxy-addr names and IPv4/IPv6 addresses with an optional /prefix. */
function parseTrustProxy(text: string): number | string[] | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const entries = text.split(',').map((s) => s.trim());
  const valid = entries.every((entry) => {
    if (PROXY_NAMES.includes(entry)) return true;
    const [address, prefix, ...rest] = entry.split('/');
    return rest.length === 0 && isIP(address ?? '') !== 0 && (prefix === undefined || /^\d{1,3}$/.test(prefix));
  });
  return valid ? entries : undefined;
}

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const positiveInteger = optionalText.refine((v) => v === undefined || (/^\d+$/.test(v) && Number(v) >= 1), 'must be a whole number of at least 1');
const duration = optionalText.refine((v) => v === undefined || (parseDuration(v) ?? 0) > 0, 'must be one duration like "10s" or "500ms"');

// Messages never echo the value: several of these variables hold secrets.
const envSchema = z.object({
  NODE_ENV: optionalText,
  DATABASE_URL: optionalText.refine(
    (v) => v === undefined || /^sqlite:.+/.test(v) || /^postgres(ql)?:\/\/.+/.test(v),
    'must be "sqlite:<path>" or "postgres://user@host:port/database"',
  ),
  HOST: optionalText,
  PORT: optionalText.refine(
    (v) => v === undefined || (/^\d+$/.test(v) && Number(v) <= 65535),
    'must be a port number between 0 and 65535',
  ),
  STRIPE_WEBHOOK_SECRET: optionalText.refine(
    (v) => v === undefined || v.split(',').every((s) => /^whsec_[A-Za-z0-9+/=_-]{8,}$/.test(s.trim())),
    'every comma-separated value must be a Stripe webhook signing secret starting with "whsec_" (copy it from the endpoint in the Dashboard, or from `stripe listen`)',
  ),
  STRIPE_SECRET_KEY: optionalText.refine(
    (v) => v === undefined || /^(sk|rk)_(test|live)_\w+$/.test(v),
    'must be a Stripe secret or restricted key ("sk_test_…", "sk_live_…", "rk_…")',
  ),
  STRIPE_API_URL: optionalText.refine((v) => v === undefined || /^https?:\/\/[^/]+/.test(v), 'must be an http(s) URL'),
  STRIPE_MAX_NETWORK_RETRIES: optionalText.refine((v) => v === undefined || (/^\d+$/.test(v) && Number(v) <= 10), 'must be a whole number from 0 to 10'),
  STRIPE_TIMEOUT: optionalText.refine((v) => v === undefined || (parseDuration(v) ?? 0) >= 100, 'must be a duration like "10s" (at least 100ms)'),
  PRICE_IDS: optionalText.refine((v) => v === undefined || v.split(',').every((p) => /^[A-Za-z0-9_-]+$/.test(p.trim())), 'must be comma-separated Stripe price ids like "price_123,price_456"'),
  DEFAULT_PRICE_ID: optionalText.refine((v) => v === undefined || /^[A-Za-z0-9_-]+$/.test(v), 'must be a Stripe price id like "price_123"'),
  PUBLIC_URL: optionalText.refine((v) => v === undefined || /^https?:\/\/[^/]+/.test(v), 'must be an http(s) URL'),
  CHECKOUT_SUCCESS_URL: optionalText.refine(
    (v) => v === undefined || (/^https?:\/\/[^/]+/.test(v) && v.includes('{CHECKOUT_SESSION_ID}')),
    'must be an http(s) URL containing {CHECKOUT_SESSION_ID}, which Stripe replaces with the session id',
  ),
  CHECKOUT_CANCEL_URL: optionalText.refine((v) => v === undefined || /^https?:\/\/[^/]+/.test(v), 'must be an http(s) URL'),
  PORTAL_RETURN_URL: optionalText.refine((v) => v === undefined || /^https?:\/\/[^/]+/.test(v), 'must be an http(s) URL'),
  SYNC_MODE: optionalText.refine((v) => v === undefined || ['payload', 'refetch'].includes(v), 'must be payload or refetch'),
  RECONCILE_INTERVAL: optionalText.refine((v) => v === undefined || (parseDuration(v) ?? 0) >= 60_000, 'must be a duration like "6h" (at least 1m)'),
  BACKFILL_ON_START: optionalText.refine((v) => v === undefined || ['true', 'false'].includes(v), 'must be true or false'),
  PAST_DUE_GRACE_HOURS: optionalText.refine(
    (v) => v === undefined || (/^\d+(\.\d+)?$/.test(v) && Number.isFinite(Number(v))),
    'must be a non-negative number of hours',
  ),
  ADMIN_TOKEN: optionalText.refine((v) => v === undefined || v.length >= 16, 'must be at least 16 characters'),
  PRICE_FEATURES: optionalText.refine((v) => v === undefined || parsePriceFeatures(v) !== undefined, 'must be JSON like {"price_123":["feature_a"]}'),
  RETRY_SCHEDULE: optionalText.refine((v) => v === undefined || parseDurationList(v) !== undefined, 'must be a list like "30s,2m,10m,1h,6h,24h"'),
  PROCESS_ROLE: optionalText.refine((v) => v === undefined || ['all', 'intake', 'worker'].includes(v), 'must be one of all, intake, worker'),
  EVENT_RETENTION_DAYS: optionalText.refine((v) => v === undefined || /^\d+$/.test(v), 'must be a whole number of days'),
  WORKER_CONCURRENCY: optionalText.refine((v) => v === undefined || (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 64), 'must be a whole number from 1 to 64'),
  WORKER_LEASE_SECONDS: optionalText.refine((v) => v === undefined || (/^\d+$/.test(v) && Number(v) >= 1), 'must be a whole number of seconds, at least 1'),
  ALERT_WEBHOOK_URL: optionalText.refine((v) => v === undefined || /^https?:\/\/[^/]+/.test(v), 'must be an http(s) URL (a Slack-compatible incoming webhook)'),
  ALERT_WINDOW: optionalText.refine((v) => v === undefined || parseDurationList(v)?.length === 1, 'must be one duration like "5m"'),
  ALERT_CHECK_INTERVAL: optionalText.refine((v) => v === undefined || parseDurationList(v)?.length === 1, 'must be one duration like "30s"'),
  ALERT_BACKLOG_AGE: optionalText.refine((v) => v === undefined || parseDurationList(v)?.length === 1, 'must be one duration like "10m"'),
  ALERT_FAILURE_THRESHOLD: optionalText.refine((v) => v === undefined || (/^\d+$/.test(v) && Number(v) >= 1), 'must be a whole number, at least 1'),
  ALERT_SIGNATURE_FAILURE_THRESHOLD: optionalText.refine((v) => v === undefined || (/^\d+$/.test(v) && Number(v) >= 1), 'must be a whole number, at least 1'),
  AUTH_JWKS_URL: optionalText.refine((v) => v === undefined || /^https?:\/\/[^/]+/.test(v), 'must be the http(s) URL of your identity provider\'s JWKS (its public signing keys)'),
  AUTH_ISSUER: optionalText,
  AUTH_AUDIENCE: optionalText,
  DATA_DIR: optionalText,
  EXTENSION_ORIGINS: optionalText.refine(
    (v) => v === undefined || v.split(',').every((o) => ORIGIN.test(o.trim())),
    'must be comma-separated origins like "chrome-extension://abcdefghijklmnopabcdefghijklmnop" (scheme and host, no path, no "*")',
  ),
  RATE_LIMIT_SIGNUPS_PER_MINUTE: positiveInteger,
  RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: positiveInteger,
  TRUST_PROXY: optionalText.refine(
    (v) => v === undefined || parseTrustProxy(v) !== undefined,
    'must be a number of proxy hops, or comma-separated proxy addresses/CIDRs (or loopback, linklocal, uniquelocal)',
  ),
  HEADERS_TIMEOUT: duration,
  REQUEST_TIMEOUT: duration,
  LOG_LEVEL: optionalText.refine(
    (v) => v === undefined || ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(v),
    'must be one of fatal, error, warn, info, debug, trace, silent',
  ),
});

function parsePriceFeatures(text: string): Record<string, string[]> | undefined {
  try {
    const parsed = z.record(z.string(), z.array(z.string())).safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Validates the environment. Throws ConfigError naming every bad variable.
 * In local (non-production) mode a missing webhook secret is generated once and kept under the data dir.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  if (production && !e.STRIPE_WEBHOOK_SECRET) {
    throw new ConfigError([
      'STRIPE_WEBHOOK_SECRET: required when NODE_ENV=production (the endpoint\'s signing secret, "whsec_…"; comma-separate several during a rotation)',
    ]);
  }
  const jwtVariables = [e.AUTH_JWKS_URL, e.AUTH_ISSUER, e.AUTH_AUDIENCE];
  if (jwtVariables.some((v) => v !== undefined) && jwtVariables.some((v) => v === undefined)) {
    throw new ConfigError(['AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE: set all three to accept your sign-in\'s JWTs, or none']);
  }
  const httpTimeouts = {
    headersMs: e.HEADERS_TIMEOUT ? parseDuration(e.HEADERS_TIMEOUT)! : DEFAULT_HTTP_TIMEOUTS.headersMs,
    requestMs: e.REQUEST_TIMEOUT ? parseDuration(e.REQUEST_TIMEOUT)! : DEFAULT_HTTP_TIMEOUTS.requestMs,
  };
  if (httpTimeouts.headersMs > httpTimeouts.requestMs) {
    throw new ConfigError(['HEADERS_TIMEOUT: must not be longer than REQUEST_TIMEOUT (the headers are part of the request)']);
  }
  if (e.SYNC_MODE === 'refetch' && !e.STRIPE_SECRET_KEY) {
    throw new ConfigError(['SYNC_MODE: refetch needs STRIPE_SECRET_KEY (the worker reads each subscription from Stripe)']);
  }
  const priceIds = [...new Set([...(e.PRICE_IDS?.split(',').map((p) => p.trim()) ?? []), ...(e.DEFAULT_PRICE_ID ? [e.DEFAULT_PRICE_ID] : [])])];
  const dataDir = resolve(e.DATA_DIR ?? './data');
  const host = e.HOST ?? '127.0.0.1';
  const port = e.PORT === undefined ? 3000 : Number(e.PORT);
  // Stripe redirects the user's browser here, so the default is where this service listens.
  const publicUrl = (e.PUBLIC_URL ?? `http://${host}:${port}`).replace(/\/+$/, '');
  const secrets = e.STRIPE_WEBHOOK_SECRET
    ? { secrets: e.STRIPE_WEBHOOK_SECRET.split(',').map((s) => s.trim()), source: 'env' as const }
    : localWebhookSecret(dataDir);

  return {
    production,
    databaseUrl: e.DATABASE_URL ?? `sqlite:${join(dataDir, 'billing.sqlite')}`,
    host,
    port,
    webhookSecrets: secrets.secrets,
    webhookSecretSource: secrets.source,
    stripeSecretKey: e.STRIPE_SECRET_KEY,
    stripeApiUrl: e.STRIPE_API_URL,
    stripeMaxNetworkRetries: e.STRIPE_MAX_NETWORK_RETRIES === undefined ? 2 : Number(e.STRIPE_MAX_NETWORK_RETRIES),
    // With the client's retries, a read stays well inside the worker's default 60 s lease.
    stripeTimeoutMs: parseDuration(e.STRIPE_TIMEOUT ?? '10s')!,
    priceIds,
    defaultPriceId: e.DEFAULT_PRICE_ID ?? priceIds[0],
    checkoutSuccessUrl: e.CHECKOUT_SUCCESS_URL ?? `${publicUrl}/billing/success?session_id={CHECKOUT_SESSION_ID}`,
    checkoutCancelUrl: e.CHECKOUT_CANCEL_URL ?? `${publicUrl}/billing/cancel`,
    portalReturnUrl: e.PORTAL_RETURN_URL ?? `${publicUrl}/billing/done`,
    syncMode: (e.SYNC_MODE ?? (e.STRIPE_SECRET_KEY ? 'refetch' : 'payload')) as SyncMode,
    reconcileIntervalMs: e.RECONCILE_INTERVAL === undefined ? undefined : parseDuration(e.RECONCILE_INTERVAL),
    backfillOnStart: e.BACKFILL_ON_START === 'true',
    pastDueGraceHours: e.PAST_DUE_GRACE_HOURS === undefined ? 72 : Number(e.PAST_DUE_GRACE_HOURS),
    adminToken: e.ADMIN_TOKEN,
    priceFeatures: e.PRICE_FEATURES ? parsePriceFeatures(e.PRICE_FEATURES)! : {},
    retrySchedule: parseDurationList(e.RETRY_SCHEDULE ?? '30s,2m,10m,1h,6h,24h')!,
    processRole: (e.PROCESS_ROLE ?? 'all') as ProcessRole,
    eventRetentionDays: e.EVENT_RETENTION_DAYS === undefined ? 30 : Number(e.EVENT_RETENTION_DAYS),
    workerConcurrency: e.WORKER_CONCURRENCY === undefined ? 4 : Number(e.WORKER_CONCURRENCY),
    workerLeaseMs: (e.WORKER_LEASE_SECONDS === undefined ? 60 : Number(e.WORKER_LEASE_SECONDS)) * 1000,
    jwt: e.AUTH_JWKS_URL ? { jwksUrl: e.AUTH_JWKS_URL, issuer: e.AUTH_ISSUER!, audience: e.AUTH_AUDIENCE! } : undefined,
    alerts: e.ALERT_WEBHOOK_URL
      ? {
          webhookUrl: e.ALERT_WEBHOOK_URL,
          windowMs: parseDurationList(e.ALERT_WINDOW ?? '5m')![0]!,
          checkIntervalMs: parseDurationList(e.ALERT_CHECK_INTERVAL ?? '30s')![0]!,
          backlogAgeMs: parseDurationList(e.ALERT_BACKLOG_AGE ?? '10m')![0]!,
          failureThreshold: Number(e.ALERT_FAILURE_THRESHOLD ?? 10),
          signatureFailureThreshold: Number(e.ALERT_SIGNATURE_FAILURE_THRESHOLD ?? 20),
        }
      : undefined,
    dataDir,
    logLevel: e.LOG_LEVEL ?? 'info',
    extensionOrigins: e.EXTENSION_ORIGINS ? e.EXTENSION_ORIGINS.split(',').map((o) => o.trim()) : [],
    rateLimits: {
      signupsPerMinute: e.RATE_LIMIT_SIGNUPS_PER_MINUTE ? Number(e.RATE_LIMIT_SIGNUPS_PER_MINUTE) : DEFAULT_RATE_LIMITS.signupsPerMinute,
      authFailuresPerMinute: e.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE ? Number(e.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE) : DEFAULT_RATE_LIMITS.authFailuresPerMinute,
    },
    trustProxy: e.TRUST_PROXY ? parseTrustProxy(e.TRUST_PROXY)! : false,
    httpTimeouts,
  };
}

/** Local mode: one generated secret, written once (mode 0600) so restarts keep accepting a local signer. */
function localWebhookSecret(dataDir: string): { secrets: string[]; source: 'generated' | 'stored' } {
  const file = join(dataDir, 'webhook-secret');
  if (existsSync(file)) {
    const stored = readFileSync(file, 'utf8').trim();
    if (stored.startsWith('whsec_')) return { secrets: [stored], source: 'stored' };
  }
  const secret = `whsec_${randomBytes(32).toString('base64url')}`;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { secrets: [secret], source: 'generated' };
}
