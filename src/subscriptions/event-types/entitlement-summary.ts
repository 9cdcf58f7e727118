import { type EntitlementSummarySnapshot, KEY_FIELDS, parseEntitlementSummary } from '../stripe-objects.js';
import { type EventType, keyOf } from './types.js';

/** entitlements.active_entitlement_summary.updated: the customer's feature lookup keys become `features`. */
export const entitlementSummaryUpdated: EventType<EntitlementSummarySnapshot> = {
  types: ['entitlements.active_entitlement_summary.updated'],
  parse: parseEntitlementSummary,
  orderingKey: keyOf(KEY_FIELDS.entitlementSummary, (summary) => summary.customer),
  needs: (summary) => ({ customers: [summary.customerId] }),
  async apply(records, summary, event) {
    const stored = await records.setCustomerFeatures(summary.customerId, summary.features, event.created);
    return stored
      ? { outcome: `customer ${summary.customerId} features: ${summary.features.join(', ') || '(none)'}` }
      : { outcome: `customer ${summary.customerId} features unchanged: a newer summary is stored` };
  },
};
