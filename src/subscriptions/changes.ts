import type { Store } from '../db/index.js';
import type { FetchStamp } from './decide.js';
import { linkCustomerToUser } from './event-types/link.js';
import { storeCompletedCheckout as completedCheckout, storeFetchedSubscription as fetchedSubscription } from './fetched.js';
import { applyChange, type ChangeOptions } from './records/index.js';
import { parseCheckoutSession, parseSubscription } from './stripe-objects.js';

/** The changes sync takes from outside the worker, each on the events' one path (records/apply.ts `applyChange`). */

type Stored = Awaited<ReturnType<typeof fetchedSubscription>>;

/** Reconcile: Stripe's current state of a subscription, read from the API, stored on the events' path. */
export function storeFetchedSubscription(store: Store, object: unknown, fetch: FetchStamp, options?: ChangeOptions): Promise<Stored> {
  const { id } = parseSubscription(object);
  return applyChange(store, { locks: [id], subscriptions: [id] }, (records) => fetchedSubscription(records, object, fetch), options);
}

/** The Checkout redirect: the completed session and its subscription, stored on the events' path (see fetched.ts). */
export function storeCompletedCheckout(
  store: Store,
  session: unknown,
  subscription: unknown,
  read: { fetchedAt: number; stripeTime: number },
  options?: ChangeOptions,
): Promise<Stored> {
  const { subscriptionId } = parseCheckoutSession(session);
  const ids = subscriptionId ? [subscriptionId] : [];
  return applyChange(
    store,
    { locks: ids, subscriptions: ids },
    (records) => completedCheckout(records, session, subscription, read),
    options,
  );
}

/** A checkout's new customer, linked to its user at once with the first-link-wins rule of events. */
export async function linkNewCustomer(store: Store, customerId: string, userId: string, options?: ChangeOptions): Promise<void> {
  await applyChange(
    store,
    { customers: [customerId] },
    (records) => linkCustomerToUser(records, customerId, userId, 'billing:checkout'),
    options,
  );
}
