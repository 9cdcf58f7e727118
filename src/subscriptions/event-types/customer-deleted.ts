import { type CustomerSnapshot, KEY_FIELDS, parseCustomer } from '../stripe-objects.js';
import { type EventType, keyOf } from './types.js';

/** customer.deleted: kept (with its link) for the record; its subscriptions end through their own events. */
export const customerDeleted: EventType<CustomerSnapshot> = {
  types: ['customer.deleted'],
  parse: parseCustomer,
  orderingKey: keyOf(KEY_FIELDS.customer, (customer) => customer.id),
  needs: () => ({}),
  async apply(records, customer) {
    records.markCustomerDeleted(customer.id);
    return { outcome: `customer ${customer.id} marked deleted` };
  },
};
