import { decideSubscriptionEvent } from '../decide.js';
import { describeChange, storeFetchedSubscription } from '../fetched.js';
import { parseSubscription } from '../stripe-objects.js';
import { linkCustomerToUser } from './link.js';
import type { EventHandler } from './types.js';

/**
 * customer.subscription.*: in payload mode the event's subscription object becomes the record,
 * subject to the ordering rules; in refetch mode Stripe's current state, read before the
 * transaction, does.
 */
export const handleSubscriptionEvent: EventHandler = async (event, repo, fetched) => {
  const snapshot = parseSubscription(event.data.object);
  if (fetched) {
    return storeFetchedSubscription(repo, fetched.object, { fetchedAt: fetched.fetchedAt, cause: event }, { event, status: snapshot.status });
  }
  await repo.lockSubscription(snapshot.id);
  const link = snapshot.userId ? await linkCustomerToUser(repo, snapshot.customerId, snapshot.userId, event.id) : undefined;
  const observations = await repo.observeStatus(snapshot.id, event, snapshot.status);
  const current = await repo.getSubscription(snapshot.id);
  const decision = decideSubscriptionEvent(current, snapshot, event, observations);
  if (!decision.apply) return { outcome: `subscription ${snapshot.id} unchanged: ${decision.reason}`, warning: link?.warning };
  await repo.saveSubscription(current, decision.next, event);
  return { outcome: `subscription ${snapshot.id} ${describeChange(current, decision.next)}`, warning: link?.warning };
};

/** The subscription a refetch must read for this event, or null when the event needs no read. */
export function subscriptionToRead(event: { type: string; data: { object: unknown } }): string | null {
  return event.type.startsWith('customer.subscription.') ? parseSubscription(event.data.object).id : null;
}
