/**
 * The service's refusals as typed errors a page can show: `error.kind` says what happened,
 * `error.message` says it to the user, `error.retryAfterSeconds` says when to try again (429).
 * They cross from the background to the pages as plain data (`toData` / `fromData`).
 */

export type BillingErrorKind =
  /** `400 code_invalid`: the code is wrong, used, or expired (10 minutes); ask for a new one. */
  | 'code_invalid'
  /** `429`: too many codes for this address, or too many attempts from this network; see `retryAfterSeconds`. */
  | 'rate_limited'
  /** `503 email_not_configured`: the service has no `SMTP_URL`, so it cannot send codes. */
  | 'email_not_configured'
  /** `503 email_unavailable`: the service could not hand the message to its SMTP server. */
  | 'email_unavailable'
  /** `400 invalid_request`: e.g. not an email address, or a code that is not 6 digits. */
  | 'invalid_request'
  /** `404 unknown_feature`: the feature is not in the service's `USAGE_LIMITS`. */
  | 'unknown_feature'
  /** The service could not be reached at all. */
  | 'unreachable'
  /** Sign-in by emailed code is for anonymous installs; with `getToken`, the seller's sign-in decides the account. */
  | 'not_available'
  /** Any other answer. */
  | 'service_error';

interface BillingErrorData {
  kind: BillingErrorKind;
  message: string;
  status: number | null;
  retryAfterSeconds: number | null;
}

export class BillingError extends Error {
  override readonly name = 'BillingError';
  constructor(
    readonly kind: BillingErrorKind,
    message: string,
    /** The HTTP status the service answered with; null when there was no answer. */
    readonly status: number | null = null,
    /** With `rate_limited`: seconds until another try can succeed (the `Retry-After` header). */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
  }

  toData(): BillingErrorData {
    return { kind: this.kind, message: this.message, status: this.status, retryAfterSeconds: this.retryAfterSeconds };
  }

  static fromData(data: BillingErrorData): BillingError {
    return new BillingError(data.kind, data.message, data.status, data.retryAfterSeconds);
  }
}

/** "30 seconds", "1 minute", "12 minutes". */
function wait(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

function retryAfter(header: string | null): number | null {
  if (header === null || !/^\d+$/.test(header.trim())) return null;
  return Number(header.trim());
}

/** The error for a refusal of the service: its status, its `{ error, message }` body and its Retry-After header. */
export async function serviceError(response: Response): Promise<BillingError> {
  const body = (await response.json().catch(() => null)) as { error?: unknown; message?: unknown } | null;
  const code = typeof body?.error === 'string' ? body.error : null;
  const detail = typeof body?.message === 'string' ? body.message : null;
  const status = response.status;
  if (status === 429) {
    const seconds = retryAfter(response.headers.get('retry-after'));
    return new BillingError(
      'rate_limited',
      seconds === null ? 'Too many attempts. Try again later.' : `Too many attempts. Try again in ${wait(seconds)}.`,
      status,
      seconds,
    );
  }
  if (status === 400 && code === 'code_invalid')
    return new BillingError('code_invalid', 'That code is wrong or has expired. Check the latest email, or ask for a new code.', status);
  if (status === 503 && code === 'email_not_configured')
    return new BillingError('email_not_configured', 'Sign-in by email is not set up on this billing service.', status);
  if (status === 503 && code === 'email_unavailable')
    return new BillingError('email_unavailable', 'The email could not be sent just now. Try again in a few minutes.', status);
  if (status === 404 && code === 'unknown_feature')
    return new BillingError('unknown_feature', 'This feature has no usage quota on the billing service (see its USAGE_LIMITS).', status);
  if (status === 400 && code === 'invalid_request')
    return new BillingError(
      'invalid_request',
      detail ? `The service refused the request: ${detail}` : 'The service refused the request.',
      status,
    );
  return new BillingError('service_error', `The billing service answered ${status}${code ? ` (${code})` : ''}.`, status);
}

export function unreachableError(): BillingError {
  return new BillingError('unreachable', 'The billing service could not be reached. Check the connection and try again.');
}
