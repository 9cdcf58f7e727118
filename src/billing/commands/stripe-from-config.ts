import type Stripe from 'stripe';
import type { Config } from '../../config.js';
import { createStripeClient } from '../stripe-client.js';

/** The CLI's Stripe client; undefined (with the reason printed) when STRIPE_SECRET_KEY is not set. */
export function stripeForCli(config: Config): Stripe | undefined {
  const stripe = createStripeClient(config);
  if (!stripe) console.error('STRIPE_SECRET_KEY is required (and STRIPE_API_URL to use a stand-in)');
  return stripe;
}
