import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { envSchema } from './env.js';
import { parseDuration, parseDurationList, parsePriceFeatures, parseTrustProxy } from './parse.js';
import { configuredSigningKeys, localSigningKeys, SigningKeyProblem } from './signing-keys.js';
import {
  type Config,
  DEFAULT_ALERT_THRESHOLDS,
  DEFAULT_HTTP_TIMEOUTS,
  DEFAULT_RATE_LIMITS,
  type ProcessRole,
  type SyncMode,
} from './types.js';
import { parseUsageLimits } from './usage.js';

/** Configuration: every setting the service reads from its environment, validated once at start. */

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** A variable validated by the schema as a whole number; undefined when unset. */
const optionalNumber = (value: string | undefined): number | undefined => (value === undefined ? undefined : Number(value));

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
  if (e.SMTP_URL && !e.EMAIL_FROM) throw new ConfigError(['EMAIL_FROM: required with SMTP_URL (the sender of sign-in codes)']);
  const jwtVariables = [e.AUTH_JWKS_URL, e.AUTH_ISSUER, e.AUTH_AUDIENCE];
  if (jwtVariables.some((v) => v !== undefined) && jwtVariables.some((v) => v === undefined)) {
    throw new ConfigError(["AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE: set all three to accept your sign-in's JWTs, or none"]);
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
  const priceIds = [
    ...new Set([...(e.PRICE_IDS?.split(',').map((p) => p.trim()) ?? []), ...(e.DEFAULT_PRICE_ID ? [e.DEFAULT_PRICE_ID] : [])]),
  ];
  const dataDir = resolve(e.DATA_DIR ?? './data');
  const host = e.HOST ?? '127.0.0.1';
  const port = e.PORT === undefined ? 3000 : Number(e.PORT);
  // Stripe redirects the user's browser here, so the default is where this service listens.
  const publicUrl = (e.PUBLIC_URL ?? `http://${host}:${port}`).replace(/\/+$/, '');
  const secrets = e.STRIPE_WEBHOOK_SECRET
    ? { secrets: e.STRIPE_WEBHOOK_SECRET.split(',').map((s) => s.trim()), source: 'env' as const }
    : localWebhookSecret(dataDir);
  const usageLimits = parseUsageLimits(e.USAGE_LIMITS, e.USAGE_LIMITS_FILE);
  if (Array.isArray(usageLimits)) throw new ConfigError(usageLimits);
  if (e.TRIAL_DAYS && !e.TRIAL_PLAN)
    throw new ConfigError(['TRIAL_PLAN: required with TRIAL_DAYS (the price whose limits and features a trial grants)']);
  const signing = signingKeys(e.ENTITLEMENT_SIGNING_KEYS, production, dataDir);

  return {
    production,
    databaseUrl: e.DATABASE_URL ?? `sqlite:${join(dataDir, 'billing.sqlite')}`,
    host,
    port,
    publicUrl,
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
    // Unset: undefined, so that the worker keeps its own defaults (which depend on the database).
    workerBatchSize: optionalNumber(e.WORKER_BATCH_SIZE),
    workerEventsPerTransaction: optionalNumber(e.WORKER_EVENTS_PER_TRANSACTION),
    workerGroupBudgetMs: optionalNumber(e.WORKER_GROUP_BUDGET_MS),
    workerYieldLimitMs: e.WORKER_YIELD_LIMIT === undefined ? 5000 : e.WORKER_YIELD_LIMIT === '0' ? 0 : parseDuration(e.WORKER_YIELD_LIMIT)!,
    email: e.SMTP_URL ? { smtpUrl: e.SMTP_URL, from: e.EMAIL_FROM! } : undefined,
    jwt: e.AUTH_JWKS_URL ? { jwksUrl: e.AUTH_JWKS_URL, issuer: e.AUTH_ISSUER!, audience: e.AUTH_AUDIENCE! } : undefined,
    entitlementTokens: {
      signingKeys: signing.keys,
      keySource: signing.source,
      issuer: e.ENTITLEMENT_ISSUER ?? publicUrl,
      ttlSeconds: parseDuration(e.ENTITLEMENT_TOKEN_TTL ?? '1h')! / 1000,
    },
    usageLimits,
    trial: e.TRIAL_DAYS
      ? { days: Number(e.TRIAL_DAYS), priceId: e.TRIAL_PLAN!, requiresEmail: e.TRIAL_REQUIRES_EMAIL === 'true' }
      : undefined,
    alerts: e.ALERT_WEBHOOK_URL
      ? {
          webhookUrl: e.ALERT_WEBHOOK_URL,
          windowMs: e.ALERT_WINDOW ? parseDurationList(e.ALERT_WINDOW)![0]! : DEFAULT_ALERT_THRESHOLDS.windowMs,
          checkIntervalMs: parseDurationList(e.ALERT_CHECK_INTERVAL ?? '30s')![0]!,
          backlogAgeMs: e.ALERT_BACKLOG_AGE ? parseDurationList(e.ALERT_BACKLOG_AGE)![0]! : DEFAULT_ALERT_THRESHOLDS.backlogAgeMs,
          failureThreshold: e.ALERT_FAILURE_THRESHOLD ? Number(e.ALERT_FAILURE_THRESHOLD) : DEFAULT_ALERT_THRESHOLDS.failureThreshold,
          signatureFailureThreshold: Number(e.ALERT_SIGNATURE_FAILURE_THRESHOLD ?? 20),
        }
      : undefined,
    dataDir,
    logLevel: e.LOG_LEVEL ?? 'info',
    extensionOrigins: e.EXTENSION_ORIGINS ? e.EXTENSION_ORIGINS.split(',').map((o) => o.trim()) : [],
    rateLimits: {
      signupsPerMinute: e.RATE_LIMIT_SIGNUPS_PER_MINUTE ? Number(e.RATE_LIMIT_SIGNUPS_PER_MINUTE) : DEFAULT_RATE_LIMITS.signupsPerMinute,
      authFailuresPerMinute: e.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE
        ? Number(e.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE)
        : DEFAULT_RATE_LIMITS.authFailuresPerMinute,
    },
    trustProxy: e.TRUST_PROXY ? parseTrustProxy(e.TRUST_PROXY)! : false,
    httpTimeouts,
  };
}

/** Production takes its keys from the variable; local mode generates one once, like the webhook secret. */
function signingKeys(value: string | undefined, production: boolean, dataDir: string) {
  if (production && !value) {
    throw new ConfigError([
      'ENTITLEMENT_SIGNING_KEYS: required when NODE_ENV=production (private Ed25519 JWKs, or a file holding them; `npm run cli -- keys generate` makes one)',
    ]);
  }
  try {
    return value ? configuredSigningKeys(value) : localSigningKeys(dataDir);
  } catch (error) {
    if (error instanceof SigningKeyProblem) throw new ConfigError([error.message]);
    throw error;
  }
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
