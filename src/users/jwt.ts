import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import type { JwtSettings } from '../config/index.js';

/** The identity provider could not be asked (its JWKS is unreachable): not the caller's fault, so not a 401. */
export class AuthUnavailableError extends Error {
  override name = 'AuthUnavailableError';
}

/** Verifies signature (keys from the JWKS, cached), issuer, audience and expiry; the `sub` claim is the user id. */
export function jwtVerifier(settings: JwtSettings): (token: string) => Promise<string | null> {
  const keys = createRemoteJWKSet(new URL(settings.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000 });
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: settings.issuer,
        audience: settings.audience,
        requiredClaims: ['exp', 'sub'],
      });
      return typeof payload.sub === 'string' && payload.sub.length > 0 && payload.sub.length <= 255 ? payload.sub : null;
    } catch (error) {
      if (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError)) {
        throw new AuthUnavailableError(`cannot fetch the signing keys from AUTH_JWKS_URL: ${(error as Error).message}`);
      }
      return null; // expired, wrongly signed, wrong issuer or audience, malformed
    }
  };
}
