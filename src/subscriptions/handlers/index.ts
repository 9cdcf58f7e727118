import { handleCheckoutSessionCompleted } from './checkout-session.js';
import { handleCustomerChanged, handleCustomerDeleted } from './customer.js';
import { handleEntitlementSummaryUpdated } from './entitlement-summary.js';
import { handleInvoicePaid, handleInvoicePaymentFailed } from './invoice.js';
import { handleSubscriptionEvent } from './subscription.js';

export { subscriptionToRead } from './subscription.js';
import type { EventHandler } from './types.js';

export type { EventHandler, FetchedSubscription, HandlerResult, StripeEvent } from './types.js';

/** Every event type sync applies; any other type is stored and marked ignored. */
export const EVENT_HANDLERS: Readonly<Record<string, EventHandler>> = {
  'customer.subscription.created': handleSubscriptionEvent,
  'customer.subscription.updated': handleSubscriptionEvent,
  'customer.subscription.deleted': handleSubscriptionEvent,
  'customer.subscription.paused': handleSubscriptionEvent,
  'customer.subscription.resumed': handleSubscriptionEvent,
  'customer.subscription.pending_update_applied': handleSubscriptionEvent,
  'customer.subscription.pending_update_expired': handleSubscriptionEvent,
  'customer.subscription.trial_will_end': handleSubscriptionEvent,
  'checkout.session.completed': handleCheckoutSessionCompleted,
  'customer.created': handleCustomerChanged,
  'customer.updated': handleCustomerChanged,
  'customer.deleted': handleCustomerDeleted,
  'invoice.paid': handleInvoicePaid,
  'invoice.payment_failed': handleInvoicePaymentFailed,
  'entitlements.active_entitlement_summary.updated': handleEntitlementSummaryUpdated,
};

export function isHandledEventType(type: string): boolean {
  return Object.hasOwn(EVENT_HANDLERS, type);
}
