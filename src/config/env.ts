import { z } from 'zod';
import { parseDuration, parseDurationList, parsePriceFeatures, parseTrustProxy } from './parse.js';

/** `scheme://host[:port]`, exactly as a browser sends it in `Origin`: no path, no wildcard. */
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/\s*?#]+$/;

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const positiveInteger = optionalText.refine(
  (v) => v === undefined || (/^\d+$/.test(v) && Number(v) >= 1),
  'must be a whole number of at least 1',
);
const duration = optionalText.refine((v) => v === undefined || (parseDuration(v) ?? 0) > 0, 'must be one duration like "10s" or "500ms"');
const wholeNumberFrom = (min: number, max: number, what = 'a whole number') =>
  optionalText.refine(
    (v) => v === undefined || (/^\d+$/.test(v) && Number(v) >= min && Number(v) <= max),
    `must be ${what} from ${min} to ${max}`,
  );

// Messages never echo the value: several of these variables hold secrets.
/** The environment variables the service reads, each checked on its own; loadConfig checks how they combine. */
export const envSchema = z.object({
  NODE_ENV: optionalText,
  DATABASE_URL: optionalText.refine(
    (v) => v === undefined || /^sqlite:.+/.test(v) || /^postgres(ql)?:\/\/.+/.test(v),
    'must be "sqlite:<path>" or "postgres://user@host:port/database"',
  ),
  HOST: optionalText,
  PORT: optionalText.refine((v) => v === undefined || (/^\d+$/.test(v) && Number(v) <= 65535), 'must be a port number between 0 and 65535'),
  STRIPE_WEBHOOK_SECRET: optionalText.refine(
    (v) => v === undefined || v.split(',').every((s) => /^whsec_[A-Za-z0-9+/=_-]{8,}$/.test(s.trim())),
    'every comma-separated value must be a Stripe webhook signing secret starting with "whsec_" (copy it from the endpoint in the Dashboard, or from `stripe listen`)',
  ),
  STRIPE_SECRET_KEY: optionalText.refine(
    (v) => v === undefined || /^(sk|rk)_(test|live)_\w+$/.test(v),
    'must be a Stripe secret or restricted key ("sk_test_…", "sk_live_…", "rk_…")',
  ),
  STRIPE_API_URL: optionalText.refine((v) => v === undefined || /^https?:\/\/[^/]+/.test(v), 'must be an http(s) URL'),
  STRIPE_MAX_NETWORK_RETRIES: optionalText.refine(
    (v) => v === undefined || (/^\d+$/.test(v) && Number(v) <= 10),
    'must be a whole number from 0 to 10',
  ),
  STRIPE_TIMEOUT: optionalText.refine(
    (v) => v === undefined || (parseDuration(v) ?? 0) >= 100,
    'must be a duration like "10s" (at least 100ms)',
  ),
  PRICE_IDS: optionalText.refine(
    (v) => v === undefined || v.split(',').every((p) => /^[A-Za-z0-9_-]+$/.test(p.trim())),
    'must be comma-separated Stripe price ids like "price_123,price_456"',
  ),
  DEFAULT_PRICE_ID: optionalText.refine((v) => v === undefined || /^[A-Za-z0-9_-]+$/.test(v), 'must be a Stripe price id like "price_123"'),
  PUBLIC_URL: optionalText.refine((v) => v === undefined || /^https?:\/\/[^/]+/.test(v), 'must be an http(s) URL'),
  CHECKOUT_SUCCESS_URL: optionalText.refine(
    (v) => v === undefined || (/^https?:\/\/[^/]+/.test(v) && v.includes('{CHECKOUT_SESSION_ID}')),
    'must be an http(s) URL containing {CHECKOUT_SESSION_ID}, which Stripe replaces with the session id',
  ),
  CHECKOUT_CANCEL_URL: optionalText.refine((v) => v === undefined || /^https?:\/\/[^/]+/.test(v), 'must be an http(s) URL'),
  PORTAL_RETURN_URL: optionalText.refine((v) => v === undefined || /^https?:\/\/[^/]+/.test(v), 'must be an http(s) URL'),
  SYNC_MODE: optionalText.refine((v) => v === undefined || ['payload', 'refetch'].includes(v), 'must be payload or refetch'),
  RECONCILE_INTERVAL: optionalText.refine(
    (v) => v === undefined || (parseDuration(v) ?? 0) >= 60_000,
    'must be a duration like "6h" (at least 1m)',
  ),
  BACKFILL_ON_START: optionalText.refine((v) => v === undefined || ['true', 'false'].includes(v), 'must be true or false'),
  PAST_DUE_GRACE_HOURS: optionalText.refine(
    (v) => v === undefined || (/^\d+(\.\d+)?$/.test(v) && Number.isFinite(Number(v))),
    'must be a non-negative number of hours',
  ),
  ADMIN_TOKEN: optionalText.refine((v) => v === undefined || v.length >= 16, 'must be at least 16 characters'),
  PRICE_FEATURES: optionalText.refine(
    (v) => v === undefined || parsePriceFeatures(v) !== undefined,
    'must be JSON like {"price_123":["feature_a"]}',
  ),
  RETRY_SCHEDULE: optionalText.refine(
    (v) => v === undefined || parseDurationList(v) !== undefined,
    'must be a list like "30s,2m,10m,1h,6h,24h"',
  ),
  PROCESS_ROLE: optionalText.refine(
    (v) => v === undefined || ['all', 'intake', 'worker'].includes(v),
    'must be one of all, intake, worker',
  ),
  EVENT_RETENTION_DAYS: optionalText.refine((v) => v === undefined || /^\d+$/.test(v), 'must be a whole number of days'),
  WORKER_CONCURRENCY: optionalText.refine(
    (v) => v === undefined || (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 64),
    'must be a whole number from 1 to 64',
  ),
  WORKER_LEASE_SECONDS: optionalText.refine(
    (v) => v === undefined || (/^\d+$/.test(v) && Number(v) >= 1),
    'must be a whole number of seconds, at least 1',
  ),
  // Bounded so that a claim's id list and a group's multi-row inserts stay far below both databases' parameter limits.
  WORKER_BATCH_SIZE: wholeNumberFrom(1, 1000),
  WORKER_EVENTS_PER_TRANSACTION: wholeNumberFrom(1, 1000),
  // A group's statements hold SQLite's connection and the event loop: intake waits this long at most.
  WORKER_GROUP_BUDGET_MS: wholeNumberFrom(0, 1000, 'a whole number of milliseconds'),
  WORKER_YIELD_LIMIT: optionalText.refine(
    (v) => v === undefined || v === '0' || (parseDuration(v) ?? 0) > 0,
    'must be one duration like "5s", or 0 for a worker that never yields to intake',
  ),
  ALERT_WEBHOOK_URL: optionalText.refine(
    (v) => v === undefined || /^https?:\/\/[^/]+/.test(v),
    'must be an http(s) URL (a Slack-compatible incoming webhook)',
  ),
  ALERT_WINDOW: optionalText.refine((v) => v === undefined || parseDurationList(v)?.length === 1, 'must be one duration like "5m"'),
  ALERT_CHECK_INTERVAL: optionalText.refine(
    (v) => v === undefined || parseDurationList(v)?.length === 1,
    'must be one duration like "30s"',
  ),
  ALERT_BACKLOG_AGE: optionalText.refine((v) => v === undefined || parseDurationList(v)?.length === 1, 'must be one duration like "10m"'),
  ALERT_FAILURE_THRESHOLD: optionalText.refine(
    (v) => v === undefined || (/^\d+$/.test(v) && Number(v) >= 1),
    'must be a whole number, at least 1',
  ),
  ALERT_SIGNATURE_FAILURE_THRESHOLD: optionalText.refine(
    (v) => v === undefined || (/^\d+$/.test(v) && Number(v) >= 1),
    'must be a whole number, at least 1',
  ),
  SMTP_URL: optionalText.refine(
    (v) => v === undefined || /^smtps?:\/\/[^/\s]+(:\d+)?\/?$/.test(v),
    'must be an SMTP URL like "smtp://user:pass@smtp.example.com:587", "smtps://…:465" or "smtp://127.0.0.1:2525"',
  ),
  EMAIL_FROM: optionalText.refine(
    (v) => v === undefined || /^[^\s@<>]+@[^\s@<>]+$|^[^<>]*<[^\s@<>]+@[^\s@<>]+>$/.test(v),
    'must be an address like "billing@example.com" or "Example <billing@example.com>"',
  ),
  AUTH_JWKS_URL: optionalText.refine(
    (v) => v === undefined || /^https?:\/\/[^/]+/.test(v),
    "must be the http(s) URL of your identity provider's JWKS (its public signing keys)",
  ),
  AUTH_ISSUER: optionalText,
  AUTH_AUDIENCE: optionalText,
  DATA_DIR: optionalText,
  // USAGE_LIMITS and USAGE_LIMITS_FILE are checked by usage.ts, which names the wrong field.
  USAGE_LIMITS: optionalText,
  USAGE_LIMITS_FILE: optionalText,
  TRIAL_DAYS: wholeNumberFrom(1, 365),
  TRIAL_PLAN: optionalText.refine((v) => v === undefined || /^[A-Za-z0-9_-]+$/.test(v), 'must be a Stripe price id like "price_123"'),
  TRIAL_REQUIRES_EMAIL: optionalText.refine((v) => v === undefined || ['true', 'false'].includes(v), 'must be true or false'),
  // ENTITLEMENT_SIGNING_KEYS is checked by signing-keys.ts, which reads the file it may name.
  ENTITLEMENT_SIGNING_KEYS: optionalText,
  ENTITLEMENT_ISSUER: optionalText.refine((v) => v === undefined || v.length <= 200, 'must be at most 200 characters'),
  ENTITLEMENT_TOKEN_TTL: optionalText.refine(
    (v) => v === undefined || ((parseDuration(v) ?? 0) >= 10_000 && (parseDuration(v) ?? Infinity) <= 86_400_000),
    'must be one duration from 10s to 24h, like "1h"',
  ),
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
