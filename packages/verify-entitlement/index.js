import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify } from 'jose';

/**
 * Verifies the entitlement tokens the billing service signs (a compact JWS, EdDSA over Ed25519)
 * against its published keys: offline, but for the JWKS fetch, which is cached per URL.
 * Types: index.d.ts. Usage and the meaning of each error: README.md.
 */

const DEFAULT_COOLDOWN_MS = 30_000;
/** The JWKS route's `Cache-Control: public, max-age=300`. */
const DEFAULT_CACHE_MAX_AGE_MS = 300_000;
const DEFAULT_TIMEOUT_MS = 5_000;

export class EntitlementTokenError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export class TokenExpiredError extends EntitlementTokenError {
  constructor(message = 'the entitlement token has expired', options = undefined) {
    super('expired', message, options);
  }
}

export class BadSignatureError extends EntitlementTokenError {
  constructor(message = "the entitlement token's signature does not verify", options = undefined) {
    super('bad_signature', message, options);
  }
}

export class WrongIssuerError extends EntitlementTokenError {
  constructor(message = 'the entitlement token is from another issuer', options = undefined) {
    super('wrong_issuer', message, options);
  }
}

export class UnknownKeyError extends EntitlementTokenError {
  constructor(message = 'no published key matches the entitlement token', options = undefined) {
    super('unknown_key', message, options);
  }
}

export class MalformedTokenError extends EntitlementTokenError {
  constructor(message = 'the entitlement token is malformed', options = undefined) {
    super('malformed', message, options);
  }
}

export class JwksUnavailableError extends EntitlementTokenError {
  constructor(message = 'the JSON Web Key Set could not be fetched', options = undefined) {
    super('jwks_unavailable', message, options);
  }
}

/** Remote key sets by URL and cache options (one fetch serves every verification until it is stale), with the tokens they verified. */
const remoteSets = new Map();
/** Inline key sets by the identity of the object passed (jose snapshots it on first use), with the tokens they verified. */
const localSets = new WeakMap();

/**
 * A backend meets the same token on every request until the extension refreshes it: a token whose
 * signature checked out is taken from here for a minute (then checked again, so that a key
 * removed from the set stops it within that minute), its expiry still checked every time.
 */
const DEFAULT_VERIFIED_CACHE_MS = 60_000;
const VERIFIED_CACHE_ENTRIES = 10_000;

/** The token's claims, once its signature, issuer, expiry and claim shapes check out. */
export async function verifyEntitlement(token, options) {
  if (typeof options?.issuer !== 'string' || options.issuer === '') throw new TypeError('options.issuer must be a non-empty string');
  const { getKey, verified } = keySetFor(options);
  if (typeof token !== 'string') throw new MalformedTokenError('the entitlement token is not a string');
  const cacheMs = options.verifiedCacheMs ?? DEFAULT_VERIFIED_CACHE_MS;
  const cacheKey = `${options.issuer} ${token}`;
  const hit = cacheMs > 0 ? verified.get(cacheKey) : undefined;
  if (hit && Date.now() < hit.until) {
    const now = (options.currentDate ?? new Date()).getTime() / 1000;
    if (hit.claims.exp <= now - (options.clockToleranceSeconds ?? 0)) throw new TokenExpiredError();
    return { ...hit.claims, features: [...hit.claims.features] };
  }
  const claims = await verifySignature(token, getKey, options);
  if (cacheMs > 0) {
    verified.delete(cacheKey);
    verified.set(cacheKey, { claims, until: Date.now() + cacheMs });
    // A Map keeps insertion order: the first key is the oldest entry.
    if (verified.size > VERIFIED_CACHE_ENTRIES) verified.delete(verified.keys().next().value);
  }
  return { ...claims, features: [...claims.features] };
}

async function verifySignature(token, getKey, options) {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, getKey, {
      algorithms: ['EdDSA'],
      issuer: options.issuer,
      currentDate: options.currentDate,
      clockTolerance: options.clockToleranceSeconds ?? 0,
    }));
  } catch (error) {
    throw fromJoseError(error);
  }
  return claimsOf(payload);
}

/** The key lookup for jwtVerify: the cached set for the options, its failures as this package's errors. */
function keySetFor(options) {
  const hasUrl = options.jwksUrl !== undefined;
  if (hasUrl === (options.jwks !== undefined)) throw new TypeError('pass exactly one of options.jwksUrl and options.jwks');
  const { keySet, verified } = hasUrl ? remoteSetFor(options) : localSetFor(options.jwks);
  const getKey = async (header, token) => {
    if (typeof header.kid !== 'string' || header.kid === '') throw new MalformedTokenError('the entitlement token\'s header has no "kid"');
    try {
      return await keySet(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey) {
        throw new UnknownKeyError(`no published key has kid ${JSON.stringify(header.kid.slice(0, 100))}`, { cause: error });
      }
      if (error instanceof errors.JWKSMultipleMatchingKeys) {
        throw new UnknownKeyError(`several published keys have kid ${JSON.stringify(header.kid.slice(0, 100))}`, { cause: error });
      }
      // Fetch refused, timed out, not a 200, not JSON, not a key set, or a key that does not import.
      throw new JwksUnavailableError(`the JSON Web Key Set could not be used: ${error?.message ?? String(error)}`, { cause: error });
    }
  };
  return { getKey, verified };
}

function remoteSetFor(options) {
  const cooldownDuration = options.cooldownMs ?? DEFAULT_COOLDOWN_MS;
  const cacheMaxAge = options.cacheMaxAgeMs ?? DEFAULT_CACHE_MAX_AGE_MS;
  const timeoutDuration = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const cacheKey = `${String(options.jwksUrl)} ${cooldownDuration} ${cacheMaxAge} ${timeoutDuration}`;
  let entry = remoteSets.get(cacheKey);
  if (!entry) {
    const remote = createRemoteJWKSet(new URL(options.jwksUrl), { cooldownDuration, cacheMaxAge, timeoutDuration });
    entry = { keys: keepingLastKeys(remote, cooldownDuration), verified: new Map() };
    remoteSets.set(cacheKey, entry);
  }
  const { keys, verified } = entry;
  return { keySet: (header, token) => keys(header, token, options.onJwksError), verified };
}

/**
 * The service being down must not take the seller's backend down with it: when a refetch of a
 * stale set fails, the keys fetched last go on verifying, and no fetch is tried again for the
 * cooldown (so requests do not each wait for a timeout). The caller hears of every such failure.
 */
function keepingLastKeys(remote, cooldownMs) {
  let lastKeys;
  let failedAt = Number.NEGATIVE_INFINITY;
  return async (header, token, onJwksError) => {
    if (lastKeys && Date.now() - failedAt < cooldownMs) return lastKeys(header, token);
    try {
      const key = await remote(header, token);
      lastKeys = undefined;
      return key;
    } catch (error) {
      const fetched = remote.jwks();
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys || !fetched) throw error;
      failedAt = Date.now();
      lastKeys = createLocalJWKSet(fetched);
      onJwksError?.(error);
      return lastKeys(header, token);
    }
  };
}

function localSetFor(jwks) {
  if (typeof jwks !== 'object' || jwks === null) throw new TypeError('options.jwks must be a JSON Web Key Set object');
  let entry = localSets.get(jwks);
  if (!entry) {
    try {
      entry = { keySet: createLocalJWKSet(jwks), verified: new Map() };
    } catch (error) {
      throw new JwksUnavailableError(`options.jwks is not a usable JSON Web Key Set: ${error.message}`, { cause: error });
    }
    localSets.set(jwks, entry);
  }
  return entry;
}

/** jose's error as this package's; anything else (a TypeError for a bad option) as it is. */
function fromJoseError(error) {
  if (error instanceof EntitlementTokenError) return error;
  const options = { cause: error };
  if (error instanceof errors.JWTExpired) return new TokenExpiredError(undefined, options);
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss' && error.reason === 'check_failed') return new WrongIssuerError(undefined, options);
    return new MalformedTokenError(`the entitlement token's claims are invalid: ${error.message}`, options);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return new BadSignatureError(undefined, options);
  if (error instanceof errors.JOSEAlgNotAllowed) return new MalformedTokenError('the entitlement token is not signed with EdDSA', options);
  if (error instanceof errors.JWKSNoMatchingKey) return new UnknownKeyError(undefined, options);
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return new JwksUnavailableError(undefined, options);
  // JWSInvalid, JWTInvalid, JOSENotSupported (an unknown "crit" header, say) and the rest.
  if (error instanceof errors.JOSEError) return new MalformedTokenError(`the entitlement token is malformed: ${error.message}`, options);
  return error;
}

const isString = (value) => typeof value === 'string';
const isStringOrNull = (value) => value === null || typeof value === 'string';
const isTime = (value) => typeof value === 'number' && Number.isFinite(value);

/** The claims, checked for their shapes: a token signed with the right key but other claims is refused too. */
const CLAIM_SHAPES = {
  iss: isString,
  sub: (value) => isString(value) && value !== '',
  premium: (value) => typeof value === 'boolean',
  reason: isString,
  features: (value) => Array.isArray(value) && value.every(isString),
  priceId: isStringOrNull,
  productId: isStringOrNull,
  iat: isTime,
  exp: isTime,
};

function claimsOf(payload) {
  for (const [claim, isValid] of Object.entries(CLAIM_SHAPES)) {
    if (!isValid(payload[claim])) {
      throw new MalformedTokenError(`the entitlement token's "${claim}" claim is missing or of the wrong type`);
    }
  }
  const { iss, sub, premium, reason, features, priceId, productId, iat, exp } = payload;
  return { iss, sub, premium, reason, features: [...features], priceId, productId, iat, exp };
}
