import { storeFetchedSubscription, storeSubscriptionEvent } from '../fetched.js';
import { KEY_FIELDS, parseSubscription, type SubscriptionSnapshot } from '../stripe-objects.js';
import { type EventType, keyOf } from './types.js';

/**
 * customer.subscription.*: in payload mode the event's subscription object becomes the record,
 * subject to the ordering rules; in refetch mode Stripe's current state, read before the
 * transaction, does.
 */
export const subscriptionEvents: EventType<SubscriptionSnapshot> = {
  types: [
    'customer.subscription.created',
    'customer.subscription.updated',
    'customer.subscription.deleted',
    'customer.subscription.paused',
    'customer.subscription.resumed',
    'customer.subscription.pending_update_applied',
    'customer.subscription.pending_update_expired',
    'customer.subscription.trial_will_end',
  ],
  parse: parseSubscription,
  orderingKey: keyOf(KEY_FIELDS.subscription, (subscription) => subscription.id),
  needs: (subscription) => ({ locks: [subscription.id], subscriptions: [subscription.id], customers: [subscription.customerId] }),
  refetchId: (subscription) => subscription.id,
  apply: (records, subscription, event, fetched) =>
    fetched
      ? storeFetchedSubscription(
          records,
          fetched.object,
          { fetchedAt: fetched.fetchedAt, cause: event },
          { event, status: subscription.status },
        )
      : storeSubscriptionEvent(records, subscription, event),
};
