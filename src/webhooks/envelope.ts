import type { NewWebhookEvent } from '../db/index.js';

/** A verified body is a Stripe event when it is an object with `object: "event"`, an `id` and a `type`. */
export function readEnvelope(event: unknown, rawBody: Buffer, receivedAt: number): NewWebhookEvent | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const e = event as Record<string, unknown>;
  if (e.object !== 'event' || !isShortText(e.id) || !isShortText(e.type)) return undefined;
  return {
    id: e.id,
    type: e.type,
    api_version: isShortText(e.api_version) ? e.api_version : null,
    livemode: e.livemode === true ? 1 : 0,
    // A missing or odd `created` is stored as 0; processing then rejects the event with the reason.
    created: Number.isSafeInteger(e.created) && (e.created as number) >= 0 ? (e.created as number) : 0,
    received_at: receivedAt,
    payload: rawBody.toString('utf8'),
    status: 'pending',
    attempts: 0,
    ordering_key: orderingKeyOf(e.type, e.data),
  };
}

/**
 * What the event is about, so that events of one subscription are applied in `created` order:
 * the subscription for subscription and invoice events, the customer for the others. Null when
 * the payload does not say (processing reports broken payloads; intake only stores them).
 */
export function orderingKeyOf(type: string, data: unknown): string | null {
  const object = (data as { object?: Record<string, unknown> } | undefined)?.object;
  if (typeof object !== 'object' || object === null) return null;
  const idOf = (value: unknown): string | null => {
    const id = typeof value === 'object' && value !== null ? (value as { id?: unknown }).id : value;
    return isShortText(id) ? id : null;
  };
  if (type.startsWith('customer.subscription.')) return idOf(object.id);
  if (type.startsWith('invoice.')) {
    const parent = object.parent as { subscription_details?: { subscription?: unknown } } | null | undefined;
    return idOf(object.subscription) ?? idOf(parent?.subscription_details?.subscription);
  }
  if (type.startsWith('customer.')) return idOf(object.id);
  return idOf(object.customer);
}

/** Short printable text: no control characters (PostgreSQL text cannot even store NUL). */
function isShortText(value: unknown): value is string {
  return typeof value === 'string' && /^[^\u0000-\u001f\u007f]{1,255}$/.test(value);
}
