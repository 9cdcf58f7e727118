import type { NewWebhookEvent } from '../db/index.js';

/** A verified body is a Stripe event when it is an object with `object: "event"`, an `id` and a `type`. */
export function readEnvelope(event: unknown, rawBody: Buffer, receivedAt: number): NewWebhookEvent | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const e = event as Record<string, unknown>;
  if (e.object !== 'event' || !isId(e.id) || !isId(e.type)) return undefined;
  return {
    id: e.id,
    type: e.type,
    api_version: typeof e.api_version === 'string' ? e.api_version : null,
    livemode: e.livemode === true ? 1 : 0,
    // A missing or odd `created` is stored as 0; processing then rejects the event with the reason.
    created: Number.isSafeInteger(e.created) && (e.created as number) >= 0 ? (e.created as number) : 0,
    received_at: receivedAt,
    payload: rawBody.toString('utf8'),
    status: 'pending',
    attempts: 0,
  };
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 255;
}
