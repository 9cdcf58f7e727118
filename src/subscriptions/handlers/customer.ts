import { parseCustomer } from '../stripe-objects.js';
import { linkCustomerToUser } from './link.js';
import type { EventHandler } from './types.js';

/** customer.created / customer.updated: `metadata.user_id` links the customer to the user. */
export const handleCustomerChanged: EventHandler = async (event, repo) => {
  const customer = parseCustomer(event.data.object);
  if (!customer.userId) return { outcome: `customer ${customer.id} carries no metadata.user_id` };
  return linkCustomerToUser(repo, customer.id, customer.userId, event.id);
};

/** customer.deleted: kept (with its link) for the record; its subscriptions end through their own events. */
export const handleCustomerDeleted: EventHandler = async (event, repo) => {
  const customer = parseCustomer(event.data.object);
  await repo.markCustomerDeleted(customer.id);
  return { outcome: `customer ${customer.id} marked deleted` };
};
