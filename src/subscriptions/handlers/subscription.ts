import { decideSubscriptionEvent } from '../decide.js';
import { parseSubscription } from '../stripe-objects.js';
import { linkCustomerToUser } from './link.js';
import type { EventHandler } from './types.js';

/** customer.subscription.*: the event's subscription object becomes the record, subject to the ordering rules. */
export const handleSubscriptionEvent: EventHandler = async (event, repo) => {
  const snapshot = parseSubscription(event.data.object);
  await repo.lockSubscription(snapshot.id);
  const link = snapshot.userId ? await linkCustomerToUser(repo, snapshot.customerId, snapshot.userId, event.id) : undefined;
  const observations = await repo.observeStatus(snapshot.id, event, snapshot.status);
  const current = await repo.getSubscription(snapshot.id);
  const decision = decideSubscriptionEvent(current, snapshot, event, observations);
  if (!decision.apply) return { outcome: `subscription ${snapshot.id} unchanged: ${decision.reason}`, warning: link?.warning };
  await repo.saveSubscription(current, decision.next, event);
  const change = current?.lastEventId === decision.next.lastEventId
    ? `past_due since corrected to ${decision.next.pastDueSince} by an older event`
    : `${current ? `${current.status} -> ` : 'recorded as '}${decision.next.status}`;
  return {
    outcome: `subscription ${snapshot.id} ${change}`,
    warning: link?.warning,
  };
};
