import type { NewWebhookEvent } from '../db/index.js';
import { isShortText, orderingKeyOf } from '../subscriptions/index.js';

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
    // What its type's descriptor says it is about (src/subscriptions/event-types).
    ordering_key: orderingKeyOf(e.type, e.data),
  };
}
