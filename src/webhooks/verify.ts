import Stripe from 'stripe';

type SignatureFailureReason = 'missing_signature' | 'malformed_signature' | 'stale_timestamp' | 'signature_mismatch';

export type Verification =
  | { ok: true; event: unknown }
  | { ok: false; reason: 'not_json'; message: string }
  | { ok: false; reason: SignatureFailureReason; message: string; likelyCause: string };

/**
 * Verifies a delivery with the official `stripe` package over the exact raw bytes, trying every
 * configured secret (during a rotation Stripe signs with each active one, and we may hold old and new).
 * Stripe's default 300 s tolerance applies.
 */
export function verifyDelivery(rawBody: Buffer, signatureHeader: string | undefined, secrets: readonly string[]): Verification {
  if (!signatureHeader) {
    return {
      ok: false,
      reason: 'missing_signature',
      message: 'missing Stripe-Signature header',
      likelyCause: 'the request did not come from Stripe, or a proxy dropped the Stripe-Signature header',
    };
  }
  let firstError: unknown;
  for (const secret of secrets) {
    try {
      return { ok: true, event: Stripe.webhooks.constructEvent(rawBody, signatureHeader, secret) };
    } catch (error) {
      if (error instanceof SyntaxError) {
        return { ok: false, reason: 'not_json', message: 'the signed body is not JSON, so it is not a Stripe event' };
      }
      firstError ??= error;
    }
  }
  return describeSignatureFailure(firstError, rawBody);
}

function describeSignatureFailure(error: unknown, rawBody: Buffer): Verification {
  const message = error instanceof Error ? error.message : String(error);
  if (/tolerance/i.test(message)) {
    return {
      ok: false,
      reason: 'stale_timestamp',
      message: 'signature timestamp is outside the 300 s tolerance',
      likelyCause: "a replayed old delivery, or this server's clock is wrong (check NTP)",
    };
  }
  if (/extract timestamp|expected scheme|no signatures found with/i.test(message)) {
    return {
      ok: false,
      reason: 'malformed_signature',
      message: 'Stripe-Signature header has no timestamp or no v1 signature',
      likelyCause: 'the request did not come from Stripe, or a proxy rewrote the Stripe-Signature header',
    };
  }
  // Stripe sends pretty-printed JSON; a compact body was almost surely re-serialized on the way in.
  const reserialized = rawBody.length > 0 && !rawBody.includes(0x0a);
  return {
    ok: false,
    reason: 'signature_mismatch',
    message: 'no v1 signature matches this body with any configured secret',
    likelyCause: reserialized
      ? 'the body was altered before verification (a proxy or JSON parser re-serialized it); verify the raw bytes'
      : "the body was altered by a proxy, or it was signed with another secret: the wrong endpoint's secret, or the Stripe CLI's `stripe listen` secret used where the Dashboard endpoint's is expected (or the reverse); check STRIPE_WEBHOOK_SECRET",
  };
}
