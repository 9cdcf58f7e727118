import { type CustomerSnapshot, parseCustomer } from '../stripe-objects.js';
import type { EventType } from './types.js';

/** customer.deleted: kept (with its link) for the record; its subscriptions end through their own events. */
export const customerDeleted: EventType<CustomerSnapshot> = {
  types: ['customer.deleted'],
  parse: parseCustomer,
  orderingKey: (customer) => customer.id,
  needs: () => ({}),
  async apply(records, customer) {
    records.markCustomerDeleted(customer.id);
    return { outcome: `customer ${customer.id} marked deleted` };
  },
};
