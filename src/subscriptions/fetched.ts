import {
  decideFetchedSubscription,
  decideSubscriptionStep,
  type EventStamp,
  type FetchStamp,
  observe,
  type SubscriptionRecord,
} from './decide.js';
import { linkCustomerToUser } from './event-types/link.js';
import type { HandlerResult } from './event-types/types.js';
import type { SyncRecords } from './records/index.js';
import { parseCheckoutSession, parseSubscription, type SubscriptionSnapshot, type SubscriptionStatus } from './stripe-objects.js';

type StoredResult = HandlerResult & { changed: boolean };

/** A subscription event in payload mode: its snapshot becomes the record, subject to the ordering rules. */
export async function storeSubscriptionEvent(
  records: SyncRecords,
  snapshot: SubscriptionSnapshot,
  event: EventStamp,
): Promise<HandlerResult> {
  await records.lockSubscription(snapshot.id);
  const link = snapshot.userId ? await linkCustomerToUser(records, snapshot.customerId, snapshot.userId, event.id) : undefined;
  const current = await records.getSubscription(snapshot.id);
  const { seen, decision } = decideSubscriptionStep(current, await records.getStatuses(snapshot.id), snapshot, event);
  records.saveStatuses(snapshot.id, seen);
  if (!decision.apply) return { outcome: `subscription ${snapshot.id} unchanged: ${decision.reason}`, warning: link?.warning };
  records.saveSubscription(current, decision.next, event);
  return { outcome: `subscription ${snapshot.id} ${describeChange(current, decision.next)}`, warning: link?.warning };
}

/**
 * Stores Stripe's current state of a subscription, read from the API. The one path for the three
 * readers: the worker in refetch mode, the Checkout redirect and reconcile. Runs inside the
 * records' transaction, never around the read itself (an HTTP call must not hold the database's write lock).
 *
 * The past_due grace counts from observations on Stripe's clock: a read caused by an event is
 * observed as what that event's payload showed at its `created`; a read with no event (the
 * redirect, reconcile) as what it showed at its cause's `created`, Stripe's time of the answer.
 */
export async function storeFetchedSubscription(
  records: SyncRecords,
  object: unknown,
  fetch: FetchStamp,
  observed?: { event: EventStamp; status: SubscriptionStatus },
): Promise<StoredResult> {
  const snapshot = parseSubscription(object);
  await records.lockSubscription(snapshot.id);
  const link = snapshot.userId ? await linkCustomerToUser(records, snapshot.customerId, snapshot.userId, fetch.cause.id) : undefined;
  const seen = observe(await records.getStatuses(snapshot.id), observed?.event ?? fetch.cause, observed?.status ?? snapshot.status);
  records.saveStatuses(snapshot.id, seen);
  const current = await records.getSubscription(snapshot.id);
  const decision = decideFetchedSubscription(current, snapshot, fetch, seen);
  if (!decision.apply)
    return { outcome: `subscription ${snapshot.id} unchanged: ${decision.reason}`, warning: link?.warning, changed: false };
  records.saveSubscription(current, decision.next, fetch.cause);
  return {
    outcome: `subscription ${snapshot.id} ${describeChange(current, decision.next)} (read from Stripe)`,
    warning: link?.warning,
    changed: true,
  };
}

/** The outcome text of a record change, shared by both sync modes. */
function describeChange(current: SubscriptionRecord | null, next: SubscriptionRecord): string {
  if (current?.lastEventId === next.lastEventId && current.syncedAt === next.syncedAt) {
    return `past_due since corrected to ${next.pastDueSince} by an older event`;
  }
  return `${current ? `${current.status} -> ` : 'recorded as '}${next.status}`;
}

/**
 * The Checkout redirect: the session (read from Stripe with its subscription expanded) links its
 * customer to the user named by `client_reference_id`, and the subscription's state is stored at
 * once, before any webhook, through the same path as a refetch. `stripeTime` (Stripe's clock when
 * it answered, unix seconds) stamps the record, so that payload mode compares the webhooks that
 * follow with it without our clock's skew.
 */
export async function storeCompletedCheckout(
  records: SyncRecords,
  session: unknown,
  subscription: unknown,
  read: { fetchedAt: number; stripeTime: number },
): Promise<StoredResult> {
  const checkout = parseCheckoutSession(session);
  // The subscription's lock before the customer's row, in the order every other writer takes them (no deadlock).
  if (checkout.subscriptionId) await records.lockSubscription(checkout.subscriptionId);
  const cause = { id: `checkout:${checkout.id}`, type: 'checkout.session.redirect', created: read.stripeTime };
  const link =
    checkout.customerId && checkout.userId ? await linkCustomerToUser(records, checkout.customerId, checkout.userId, cause.id) : undefined;
  const stored = await storeFetchedSubscription(records, subscription, { fetchedAt: read.fetchedAt, cause });
  return { ...stored, warning: link?.warning ?? stored.warning };
}
