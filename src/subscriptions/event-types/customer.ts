import { type CustomerSnapshot, KEY_FIELDS, parseCustomer, parseCustomerEmail } from '../stripe-objects.js';
import { linkCustomerToUser } from './link.js';
import { rememberEmail } from './remember-email.js';
import { type EventType, keyOf } from './types.js';

/** customer.created / customer.updated: `metadata.user_id` links the customer to the user; its email is remembered (restore by emailed code). */
export const customerChanged: EventType<CustomerSnapshot & { email: string | null }> = {
  types: ['customer.created', 'customer.updated'],
  parse: (object) => ({ ...parseCustomer(object), email: parseCustomerEmail(object) }),
  orderingKey: keyOf(KEY_FIELDS.customer, (customer) => customer.id),
  needs: (customer) => ({ customers: [customer.id] }),
  async apply(records, customer, event) {
    const email = await rememberEmail(records, customer.id, customer.email, event);
    if (!customer.userId) return { outcome: `customer ${customer.id} carries no metadata.user_id${email}` };
    const linked = await linkCustomerToUser(records, customer.id, customer.userId, event.id);
    return { ...linked, outcome: linked.outcome + email };
  },
};
