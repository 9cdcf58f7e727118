/**
 * What the service reads from its environment, as the rest of the code sees it. The settings
 * types of other folders live here too, so that config depends on no other folder.
 */
export interface Config {
  production: boolean;
  databaseUrl: string;
  host: string;
  port: number;
  /** PUBLIC_URL (default http://HOST:PORT), without a trailing slash: where browsers reach the service. */
  publicUrl: string;
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
  /** Events the worker claims at once; undefined: the worker's default. */
  workerBatchSize: number | undefined;
  /** Events applied together in one transaction; undefined: the worker's default for the database. */
  workerEventsPerTransaction: number | undefined;
  /** SQLite: how long a worker group may take further events (ms); undefined: the worker's default. */
  workerGroupBudgetMs: number | undefined;
  /** With intake in the same process: how old the backlog may get while the worker yields to a burst (ms); 0: never yields. */
  workerYieldLimitMs: number;
  /** The seller's own sign-in, whose JWTs are accepted as bearer tokens; off unless all three AUTH_ variables are set. */
  jwt: JwtSettings | undefined;
  /** Restore by emailed code; undefined without SMTP_URL (the routes then answer 503 email_not_configured). */
  email: EmailSettings | undefined;
  /** The signed token every entitlement answer carries (src/entitlements/token.ts). */
  entitlementTokens: EntitlementTokenSettings;
  /** Per feature and plan key (`free`, a price id, a product id): how many uses (src/usage). */
  usageLimits: UsageLimits;
  /** Card-less trials (`POST /v1/trial`); off unless TRIAL_DAYS is set. */
  trial: TrialSettings | undefined;
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

/** A seller's own sign-in (Firebase, Auth0, Supabase, their OAuth): its JWTs are accepted as bearer tokens. */
export interface JwtSettings {
  jwksUrl: string;
  issuer: string;
  audience: string;
}

/** The built-in alerts (src/ops/alerts.ts). */
export interface AlertSettings {
  webhookUrl: string;
  windowMs: number;
  checkIntervalMs: number;
  /** Processing failures within the window that fire the alert. */
  failureThreshold: number;
  /** Age of the oldest waiting event that fires the alert. */
  backlogAgeMs: number;
  /** Signature failures within the window (in this process) that fire the alert. */
  signatureFailureThreshold: number;
}

/** What the database alerts fire at; the dashboard evaluates them with these too when ALERT_WEBHOOK_URL is unset. */
export type AlertThresholds = Pick<AlertSettings, 'windowMs' | 'failureThreshold' | 'backlogAgeMs'>;
export const DEFAULT_ALERT_THRESHOLDS: AlertThresholds = { windowMs: 5 * 60_000, backlogAgeMs: 10 * 60_000, failureThreshold: 10 };

export const DEFAULT_RATE_LIMITS: RateLimits = { signupsPerMinute: 30, authFailuresPerMinute: 60 };
export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = { headersMs: 10_000, requestMs: 30_000 };

export interface EmailSettings {
  /** nodemailer's transport URL: smtp:// (STARTTLS when offered) or smtps://; may carry a password, never logged. */
  smtpUrl: string;
  from: string;
}

/** An Ed25519 private key as a JWK; `kid` is the RFC 7638 thumbprint unless the configuration names one. */
export interface SigningKey {
  kty: 'OKP';
  crv: 'Ed25519';
  d: string;
  x: string;
  kid: string;
}

/** Where the signing keys came from: the variable itself, the file it names, or local mode's data dir. */
export type SigningKeySource = 'env' | 'file' | 'generated' | 'stored';

export interface EntitlementTokenSettings {
  /** The first signs; all are published at /.well-known/jwks.json, so a previous key still verifies during a rotation. */
  signingKeys: SigningKey[];
  keySource: SigningKeySource;
  issuer: string;
  /** How long a token lives at most; a premium token ends sooner where the access does. */
  ttlSeconds: number;
}

export type UsagePeriod = 'day' | 'month' | 'billing_period' | 'lifetime';

/** `limit: null` is unlimited (and then `per` is null too, unless given). */
export interface PlanLimit {
  limit: number | null;
  per: UsagePeriod | null;
}

/** feature → plan key → limit. */
export type UsageLimits = Record<string, Record<string, PlanLimit>>;

export interface TrialSettings {
  days: number;
  /** The price whose limits and features a trial grants. */
  priceId: string;
  /** Only an account with a verified email may start one. */
  requiresEmail: boolean;
}
