import { checkoutSessionCompleted } from './checkout-session.js';
import { customerChanged } from './customer.js';
import { customerDeleted } from './customer-deleted.js';
import { entitlementSummaryUpdated } from './entitlement-summary.js';
import { invoicePaid, invoicePaymentFailed } from './invoice.js';
import { subscriptionEvents } from './subscription.js';
import { type ReadEvent, type Registered, register } from './types.js';

export type { FetchedSubscription, HandlerResult, ReadEvent } from './types.js';

/** Every kind of event sync applies, one line each; any other type is stored and marked ignored. */
const EVENT_TYPES: readonly Registered[] = [
  register(subscriptionEvents),
  register(invoicePaid),
  register(invoicePaymentFailed),
  register(checkoutSessionCompleted),
  register(customerChanged),
  register(customerDeleted),
  register(entitlementSummaryUpdated),
];

const BY_TYPE = new Map(EVENT_TYPES.flatMap((registered) => registered.types.map((name) => [name, registered] as const)));

export function isHandledEventType(type: string): boolean {
  return BY_TYPE.has(type);
}

/** Every event type sync applies. */
export const HANDLED_EVENT_TYPES: readonly string[] = [...BY_TYPE.keys()];

/**
 * The event's `data.object` read through its type's descriptor; undefined for a type sync does not handle. Throws the descriptor's
 * ZodError.
 */
export function readEvent(type: string, object: unknown): ReadEvent | undefined {
  return BY_TYPE.get(type)?.read(object);
}

/**
 * What the event is about (see EventType.orderingKey), at intake: null when sync does not handle
 * the type or cannot read the payload (processing then reports why; intake only stores it).
 */
export function orderingKeyOf(type: string, data: unknown): string | null {
  const registered = BY_TYPE.get(type);
  if (!registered || typeof data !== 'object' || data === null) return null;
  const key = registered.orderingKey((data as { object?: unknown }).object);
  // Indexed at intake: a key too long or odd for an index entry would make the event unstorable.
  return key !== null && isShortText(key) ? key : null;
}

/** Short printable text, as Stripe's ids and types are: no control characters (PostgreSQL text cannot even store NUL). */
export function isShortText(value: unknown): value is string {
  return typeof value === 'string' && /^[^\u0000-\u001f\u007f]{1,255}$/.test(value);
}
