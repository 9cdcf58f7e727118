import Stripe from 'stripe';
import { InvalidEventError } from '../subscriptions/index.js';
import { describeStripeError } from './stripe-client.js';

/**
 * The worker's reader in refetch mode: a subscription's current state, with its customer expanded
 * (the customer's `metadata.user_id` can link it). A subscription Stripe does not know is not worth
 * retrying: the key belongs to another account or mode than the events. Any other failure is
 * retried on the worker's schedule; its message carries Stripe's request id.
 */
export function subscriptionReader(stripe: Stripe): (subscriptionId: string) => Promise<unknown> {
  return async (subscriptionId) => {
    try {
      return await stripe.subscriptions.retrieve(subscriptionId, { expand: ['customer'] });
    } catch (error) {
      const described = describeStripeError(error);
      if (error instanceof Stripe.errors.StripeInvalidRequestError && error.code === 'resource_missing') {
        throw new InvalidEventError(
          `subscription ${subscriptionId} does not exist in Stripe for this STRIPE_SECRET_KEY (another account, or test and live mode mixed up?); request ${described.requestId ?? 'unknown'}`,
        );
      }
      throw new Error(
        `reading subscription ${subscriptionId} from Stripe failed: ${described.message}${described.requestId ? ` (request ${described.requestId})` : ''}`,
      );
    }
  };
}
