import Stripe from 'stripe';
import { createStripeClient, describeStripeError } from '../../billing/index.js';
import type { Config } from '../../config/index.js';

/**
 * Runs a CLI command that needs Stripe: exit 2 without STRIPE_SECRET_KEY, and a Stripe failure
 * printed plainly (with Stripe's request id), exit 1, instead of a stack trace.
 */
export async function withStripe(config: Config, command: string, run: (stripe: Stripe) => Promise<number>): Promise<number> {
  const stripe = createStripeClient(config);
  if (!stripe) {
    console.error('STRIPE_SECRET_KEY is required (and STRIPE_API_URL to use a stand-in)');
    return 2;
  }
  try {
    return await run(stripe);
  } catch (error) {
    if (!(error instanceof Stripe.errors.StripeError)) throw error;
    const { message, requestId } = describeStripeError(error);
    console.error(
      `\n${command} failed (Stripe): ${message.replace(/\.$/, '')}${requestId ? ` (request ${requestId})` : ''}. Nothing is lost; run it again.`,
    );
    return 1;
  }
}
