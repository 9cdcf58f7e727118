import type { JWK } from 'jose';

/** What a verified entitlement token says (the billing service's `EntitlementClaims`). */
export interface EntitlementClaims {
  /** The issuer: equal to `options.issuer`. */
  iss: string;
  /** The user's id at the billing service. */
  sub: string;
  premium: boolean;
  /** Why (not) premium: "active", "trialing", "past_due_in_grace", "free_trial", "canceled", "trial_ended", "no_subscription", … */
  reason: string;
  features: string[];
  priceId: string | null;
  productId: string | null;
  /** Issued at, unix seconds. */
  iat: number;
  /** Expires at, unix seconds. */
  exp: number;
}

/** A JSON Web Key Set, such as the body of `GET /.well-known/jwks.json`. */
export interface EntitlementJwks {
  readonly keys: readonly JWK[];
}

export interface CommonVerifyOptions {
  /** The `iss` every token must carry: the service's ENTITLEMENT_ISSUER (by default its public URL). */
  issuer: string;
  /** The time to check `exp` against; default now. The JWKS cache keeps to the real clock. */
  currentDate?: Date;
  /** Seconds of leeway for `exp` against a clock that runs ahead; default 0. */
  clockToleranceSeconds?: number;
  /**
   * How long (ms, by the real clock) a token whose signature checked out is taken without checking
   * it again; its `exp` is still checked every time. Default 60 000; 0 checks every signature.
   */
  verifiedCacheMs?: number;
}

/** Keys fetched from the service, cached per URL and options. */
export interface RemoteJwksOptions extends CommonVerifyOptions {
  /** `https://<service>/.well-known/jwks.json` */
  jwksUrl: string | URL;
  jwks?: never;
  /** Least time between two fetches for a token whose `kid` is not in the cached set; default 30 000. */
  cooldownMs?: number;
  /** How long a fetched set is used before it is fetched again; default 300 000 (the route's max-age). */
  cacheMaxAgeMs?: number;
  /** How long a fetch may take; default 5 000. */
  timeoutMs?: number;
  /**
   * Told of a failed refetch of a stale set while verification goes on with the keys fetched
   * last (log it, count it); without such keys the verification throws JwksUnavailableError instead.
   */
  onJwksError?: (error: unknown) => void;
}

/** Keys given inline; the set is read once per object (a changed set needs a new object). */
export interface InlineJwksOptions extends CommonVerifyOptions {
  jwks: EntitlementJwks;
  jwksUrl?: never;
  cooldownMs?: never;
  cacheMaxAgeMs?: never;
  timeoutMs?: never;
  onJwksError?: never;
}

export type VerifyEntitlementOptions = RemoteJwksOptions | InlineJwksOptions;

export type EntitlementTokenErrorCode = 'expired' | 'bad_signature' | 'wrong_issuer' | 'unknown_key' | 'malformed' | 'jwks_unavailable';

/** Every refusal of a token; `cause` is jose's error where there was one. */
export declare class EntitlementTokenError extends Error {
  constructor(code: EntitlementTokenErrorCode, message: string, options?: { cause?: unknown });
  readonly code: EntitlementTokenErrorCode;
}

/** `exp` has passed (beyond `clockToleranceSeconds`). */
export declare class TokenExpiredError extends EntitlementTokenError {
  constructor(message?: string, options?: { cause?: unknown });
  override readonly code: 'expired';
}

/** The signature does not verify with the key its `kid` names: a forged or altered token. */
export declare class BadSignatureError extends EntitlementTokenError {
  constructor(message?: string, options?: { cause?: unknown });
  override readonly code: 'bad_signature';
}

/** Signed by a published key, but `iss` is not `options.issuer`. */
export declare class WrongIssuerError extends EntitlementTokenError {
  constructor(message?: string, options?: { cause?: unknown });
  override readonly code: 'wrong_issuer';
}

/** No key of the set (after a refetch, cooldown permitting) has the token's `kid`. */
export declare class UnknownKeyError extends EntitlementTokenError {
  constructor(message?: string, options?: { cause?: unknown });
  override readonly code: 'unknown_key';
}

/** Not a compact JWS, not EdDSA, no `kid`, or claims missing or of the wrong types. */
export declare class MalformedTokenError extends EntitlementTokenError {
  constructor(message?: string, options?: { cause?: unknown });
  override readonly code: 'malformed';
}

/** The JWKS could not be fetched (refused, timed out, not 200) or is not a usable key set. */
export declare class JwksUnavailableError extends EntitlementTokenError {
  constructor(message?: string, options?: { cause?: unknown });
  override readonly code: 'jwks_unavailable';
}

/**
 * Verifies an entitlement token: EdDSA only, signature, `iss`, `exp` and the claims' shapes.
 * Rejects with an `EntitlementTokenError` subclass for a token it refuses, and with a
 * `TypeError` for options it cannot use.
 */
export declare function verifyEntitlement(token: string, options: VerifyEntitlementOptions): Promise<EntitlementClaims>;
