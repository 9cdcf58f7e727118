import type { Config } from '../config.js';

/**
 * Billing against Stripe's API: Checkout and Customer Portal sessions, the Checkout redirect,
 * refetch of subscriptions for sync, backfill of missed events and reconciliation.
 */
export { billingRoutes } from './routes.js';
export { createStripeClient } from './stripe-client.js';
export { subscriptionReader } from './refetch.js';
export { reconcile } from './reconcile.js';
export { startBillingJobs } from './jobs.js';
export { backfill as backfillCommand } from './commands/backfill.js';
export { reconcile as reconcileCommand } from './commands/reconcile.js';

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
