import { parseEntitlementSummary } from '../stripe-objects.js';
import type { EventHandler } from './types.js';

/** entitlements.active_entitlement_summary.updated: the customer's feature lookup keys become `features`. */
export const handleEntitlementSummaryUpdated: EventHandler = async (event, repo) => {
  const summary = parseEntitlementSummary(event.data.object);
  const stored = await repo.setCustomerFeatures(summary.customerId, summary.features, event.created);
  return stored
    ? { outcome: `customer ${summary.customerId} features: ${summary.features.join(', ') || '(none)'}` }
    : { outcome: `customer ${summary.customerId} features unchanged: a newer summary is stored` };
};
