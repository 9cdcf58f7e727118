import { type CheckoutSessionSnapshot, KEY_FIELDS, parseCheckoutEmail, parseCheckoutSession } from '../stripe-objects.js';
import { linkCustomerToUser } from './link.js';
import { rememberEmail } from './remember-email.js';
import { type EventType, keyOf } from './types.js';

/**
 * checkout.session.completed: `client_reference_id` (or `metadata.user_id`) links the new customer
 * to the user; the buyer's `customer_details.email` is remembered for the customer.
 */
export const checkoutSessionCompleted: EventType<CheckoutSessionSnapshot & { email: string | null }> = {
  types: ['checkout.session.completed'],
  parse: (object) => ({ ...parseCheckoutSession(object), email: parseCheckoutEmail(object) }),
  orderingKey: keyOf(KEY_FIELDS.checkoutSession, (session) => session.customer ?? null),
  needs: (session) => (session.customerId ? { customers: [session.customerId] } : {}),
  async apply(records, session, event) {
    if (!session.customerId) return { outcome: `checkout session ${session.id} has no customer` };
    const email = await rememberEmail(records, session.customerId, session.email, event);
    if (!session.userId) return { outcome: `checkout session ${session.id} names no user (no client_reference_id)${email}` };
    const linked = await linkCustomerToUser(records, session.customerId, session.userId, event.id);
    return { ...linked, outcome: linked.outcome + email };
  },
};
