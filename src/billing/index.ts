import type { Config } from '../config/index.js';

export { BACKFILL_LIMIT_SECONDS, backfill } from './backfill.js';
export { startBillingJobs } from './jobs.js';
export { terminalProgress } from './progress.js';
export { reconcile } from './reconcile.js';
export { subscriptionReader } from './refetch.js';
/**
 * Billing against Stripe's API: Checkout and Customer Portal sessions, the Checkout redirect,
 * refetch of subscriptions for sync, backfill of missed events and reconciliation.
 */
export { billingRoutes } from './routes.js';
export { createStripeClient, describeStripeError } from './stripe-client.js';

/** The settings of billing that the service (not only the CLI) reads. */
export type BillingConfig = Pick<
  Config,
  | 'stripeSecretKey'
  | 'stripeApiUrl'
  | 'stripeMaxNetworkRetries'
  | 'stripeTimeoutMs'
  | 'priceIds'
  | 'defaultPriceId'
  | 'checkoutSuccessUrl'
  | 'checkoutCancelUrl'
  | 'portalReturnUrl'
  | 'syncMode'
  | 'reconcileIntervalMs'
  | 'backfillOnStart'
>;
