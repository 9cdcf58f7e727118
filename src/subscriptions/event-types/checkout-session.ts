import { type CheckoutSessionSnapshot, KEY_FIELDS, parseCheckoutSession } from '../stripe-objects.js';
import { linkCustomerToUser } from './link.js';
import { type EventType, keyOf } from './types.js';

/** checkout.session.completed: `client_reference_id` (or `metadata.user_id`) links the new customer to the user. */
export const checkoutSessionCompleted: EventType<CheckoutSessionSnapshot> = {
  types: ['checkout.session.completed'],
  parse: parseCheckoutSession,
  orderingKey: keyOf(KEY_FIELDS.checkoutSession, (session) => session.customer ?? null),
  needs: (session) => (session.customerId ? { customers: [session.customerId] } : {}),
  async apply(records, session, event) {
    if (!session.customerId) return { outcome: `checkout session ${session.id} has no customer` };
    if (!session.userId) return { outcome: `checkout session ${session.id} names no user (no client_reference_id)` };
    return linkCustomerToUser(records, session.customerId, session.userId, event.id);
  },
};
