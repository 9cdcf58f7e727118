import { type CustomerSnapshot, KEY_FIELDS, parseCustomer } from '../stripe-objects.js';
import { linkCustomerToUser } from './link.js';
import { type EventType, keyOf } from './types.js';

/** customer.created / customer.updated: `metadata.user_id` links the customer to the user. */
export const customerChanged: EventType<CustomerSnapshot> = {
  types: ['customer.created', 'customer.updated'],
  parse: parseCustomer,
  orderingKey: keyOf(KEY_FIELDS.customer, (customer) => customer.id),
  needs: (customer) => ({ customers: [customer.id] }),
  async apply(records, customer, event) {
    if (!customer.userId) return { outcome: `customer ${customer.id} carries no metadata.user_id` };
    return linkCustomerToUser(records, customer.id, customer.userId, event.id);
  },
};
