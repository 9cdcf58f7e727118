import { decideFetchedSubscription, type EventStamp, type FetchStamp, type SubscriptionRecord } from './decide.js';
import { linkCustomerToUser } from './handlers/link.js';
import type { HandlerResult } from './handlers/types.js';
import type { SyncRepository } from './repository.js';
import { parseCheckoutSession, parseSubscription, type SubscriptionStatus } from './stripe-objects.js';

/**
 * Stores Stripe's current state of a subscription, read from the API. The one path for the three
 * readers: the worker in refetch mode, the Checkout redirect and reconcile. Call inside a
 * transaction, never around the read itself (an HTTP call must not hold the database's write lock).
 *
 * `observed` is what the triggering event's own payload showed, a fact about its moment that the
 * past_due grace needs whatever the read says now.
 */
export async function storeFetchedSubscription(
  repo: SyncRepository,
  object: unknown,
  fetch: FetchStamp,
  observed?: { event: EventStamp; status: SubscriptionStatus },
): Promise<HandlerResult & { changed: boolean }> {
  const snapshot = parseSubscription(object);
  await repo.lockSubscription(snapshot.id);
  const link = snapshot.userId ? await linkCustomerToUser(repo, snapshot.customerId, snapshot.userId, fetch.cause.id) : undefined;
  if (observed) await repo.observeStatus(snapshot.id, observed.event, observed.status);
  const readStamp = { id: `${fetch.cause.id}:read`, type: fetch.cause.type, created: Math.floor(fetch.fetchedAt / 1000) };
  const observations = await repo.observeStatus(snapshot.id, readStamp, snapshot.status);
  const current = await repo.getSubscription(snapshot.id);
  const decision = decideFetchedSubscription(current, snapshot, fetch, observations);
  if (!decision.apply) return { outcome: `subscription ${snapshot.id} unchanged: ${decision.reason}`, warning: link?.warning, changed: false };
  await repo.saveSubscription(current, decision.next, fetch.cause);
  return { outcome: `subscription ${snapshot.id} ${describeChange(current, decision.next)} (read from Stripe)`, warning: link?.warning, changed: true };
}

/** The outcome text of a record change, shared by both sync modes. */
export function describeChange(current: SubscriptionRecord | null, next: SubscriptionRecord): string {
  if (current?.lastEventId === next.lastEventId && current.syncedAt === next.syncedAt) {
    return `past_due since corrected to ${next.pastDueSince} by an older event`;
  }
  return `${current ? `${current.status} -> ` : 'recorded as '}${next.status}`;
}

/**
 * The Checkout redirect: the session (read from Stripe with its subscription expanded) links its
 * customer to the user named by `client_reference_id`, and the subscription's state is stored at
 * once, before any webhook, through the same path as a refetch.
 */
export async function storeCompletedCheckout(
  repo: SyncRepository,
  session: unknown,
  subscription: unknown,
  fetchedAt: number,
): Promise<HandlerResult & { changed: boolean }> {
  const checkout = parseCheckoutSession(session);
  const cause = { id: `checkout:${checkout.id}`, type: 'checkout.session.redirect', created: Math.floor(fetchedAt / 1000) };
  const link = checkout.customerId && checkout.userId ? await linkCustomerToUser(repo, checkout.customerId, checkout.userId, cause.id) : undefined;
  const stored = await storeFetchedSubscription(repo, subscription, { fetchedAt, cause });
  return { ...stored, warning: link?.warning ?? stored.warning };
}
