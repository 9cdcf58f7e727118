import type { BillingConfig } from '../../src/billing/index.js';

/** Billing settings of a service without Stripe: payload sync, billing routes answer 503. */
export const BILLING_OFF: BillingConfig = {
  stripeSecretKey: undefined,
  stripeApiUrl: undefined,
  stripeMaxNetworkRetries: 0,
  stripeTimeoutMs: 2000,
  priceIds: ['price_basic', 'price_pro'],
  defaultPriceId: 'price_basic',
  checkoutSuccessUrl: 'http://127.0.0.1:1/billing/success?session_id={CHECKOUT_SESSION_ID}',
  checkoutCancelUrl: 'http://127.0.0.1:1/billing/cancel',
  portalReturnUrl: 'http://127.0.0.1:1/billing/done',
  syncMode: 'payload',
  reconcileIntervalMs: undefined,
  backfillOnStart: false,
};
