import type { Consumption, Entitlement, Usage } from './cache.js';

/** What the extension can ask of the billing service, in the background and (through it) in every page. */

export interface BillingClientOptions {
  /** The service's base URL, e.g. "https://billing.example.com" (its origin must be in `host_permissions`). */
  serverUrl: string;
  /** For sellers with their own sign-in: returns the user's JWT. Without it, one anonymous account per install. */
  getToken?: () => Promise<string>;
  /** How long the last known answer is served, marked stale, while the service is unreachable. Default 24 h. */
  graceMs?: number;
}

export interface BillingApi {
  /**
   * Registers this install once (`POST /v1/users`) and keeps its token; returns the user id the
   * install acts for (unknown for JWT users until the first answer) and the email it signed in
   * with by code (null while anonymous).
   */
  ensureUser(): Promise<{ userId: string | null; email: string | null }>;
  /** The entitlement, from the cache when younger than `maxAgeMs` (default 60 s), else from the service. */
  getEntitlement(options?: { maxAgeMs?: number }): Promise<Entitlement>;
  /** Called with every new answer, in this context; returns a function that stops listening. */
  onEntitlementChange(listener: (entitlement: Entitlement) => void): () => void;
  /** Opens Stripe Checkout in a tab; the answer refreshes as soon as the user comes back. */
  openCheckout(priceId?: string): Promise<void>;
  /** Opens the Stripe Customer Portal in a tab (plan changes, cancellation). */
  openPortal(): Promise<void>;
  /**
   * The signed entitlement token of the latest answer, for your own backend to verify
   * (packages/verify-entitlement). A new answer is fetched when there is no token or it expires
   * within the refresh margin; while the service cannot be reached, the kept token is returned
   * until it expires, then a `BillingError` (`unreachable`) is thrown.
   */
  getEntitlementToken(): Promise<string>;
  /**
   * Counts one use of a quota-limited feature (`POST /v1/usage/:feature`) and says whether it may
   * run: `{ allowed: false }` when it does not fit (counted nothing; offer the upgrade). Each call
   * has an idempotency key (yours, or a fresh one), so the retry after a lost answer counts once.
   * Every open page hears the new count through `onEntitlementChange`. Throws a `BillingError`
   * (`unknown_feature`, `unreachable`, …).
   */
  consume(feature: string, options?: { amount?: number; idempotencyKey?: string }): Promise<Consumption>;
  /** The feature's quota now (`GET /v1/usage/:feature`), without counting. Throws a `BillingError`. */
  getUsage(feature: string): Promise<Usage>;
  /** Calls one of the service's premium routes with the user's token. */
  fetchPremium(path: string, init?: RequestInit): Promise<{ status: number; body: unknown }>;
  /** Emails a one-time 6-digit code to `email` (`POST /v1/account/email`). Throws a `BillingError`. */
  requestCode(email: string): Promise<void>;
  /**
   * Checks the emailed code (`POST /v1/account/verify`): from then on this install acts for the
   * account of that email (the one that bought with it, on any device). Returns the account's
   * entitlement, which every open page also hears through `onEntitlementChange`. Throws a `BillingError`.
   */
  verifyCode(email: string, code: string): Promise<Entitlement>;
  /**
   * Detaches this install from its account (`POST /v1/account/signout`): it is a fresh anonymous
   * user again. With `getToken`, call it after your own sign-out: it forgets the last user's answer
   * and asks again with what `getToken` gives now (when it throws: not premium). Returns the new entitlement.
   */
  signOut(): Promise<Entitlement>;
}
