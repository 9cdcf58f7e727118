import { parseCheckoutSession } from '../stripe-objects.js';
import { linkCustomerToUser } from './link.js';
import type { EventHandler } from './types.js';

/** checkout.session.completed: `client_reference_id` (or `metadata.user_id`) links the new customer to the user. */
export const handleCheckoutSessionCompleted: EventHandler = async (event, repo) => {
  const session = parseCheckoutSession(event.data.object);
  if (!session.customerId) return { outcome: `checkout session ${session.id} has no customer` };
  if (!session.userId) return { outcome: `checkout session ${session.id} names no user (no client_reference_id)` };
  return linkCustomerToUser(repo, session.customerId, session.userId, event.id);
};
