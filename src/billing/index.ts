/**
 * Billing against Stripe's API: Checkout and Customer Portal sessions, the Checkout redirect,
 * refetch of subscriptions for sync, backfill of missed events and reconciliation.
 */
export { BACKFILL_LIMIT_SECONDS, backfill } from './backfill.js';
export { startBillingJobs } from './jobs.js';
export { terminalProgress } from './progress.js';
export { reconcile } from './reconcile.js';
export { subscriptionReader } from './refetch.js';
export { billingRoutes } from './routes.js';
export type { BillingConfig } from './settings.js';
export { createStripeClient, describeStripeError } from './stripe-client.js';
