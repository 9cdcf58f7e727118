import type { Config } from '../config/index.js';

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
