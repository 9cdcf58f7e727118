import { base64url, type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { expect } from 'vitest';
import { EntitlementTokenError } from '../index.js';

/** Real Ed25519 keys and tokens signed as the service signs them, for the package's tests. */

export const ISSUER = 'https://billing.example.test';
export const NOW = Math.floor(Date.now() / 1000);
export const CLAIMS = { premium: true, reason: 'active', features: ['export', 'sync'], priceId: 'price_1', productId: 'prod_1' };

export type TestKey = { kid: string; privateKey: CryptoKey; publicJwk: JWK };

export async function newKey(kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' } };
}

/** A token as the service signs it; `payload` overrides or (with undefined) removes claims. */
export function sign(key: TestKey, payload: Record<string, unknown> = {}, kid: string = key.kid): Promise<string> {
  const claims = { iss: ISSUER, sub: 'user_1', ...CLAIMS, iat: NOW, exp: NOW + 3600, ...payload } as JWTPayload;
  return new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' }).sign(key.privateKey);
}

export const encodeJson = (value: unknown) => base64url.encode(JSON.stringify(value));

type ErrorClass = new (...args: never[]) => EntitlementTokenError;

/** Rejects with an error of `type` whose cause, when `cause` is given, is one. */
export async function expectRefusal(promise: Promise<unknown>, type: ErrorClass, cause?: new (...args: never[]) => unknown) {
  const error = await promise.catch((e: unknown) => e); // A resolved value fails the instanceof below.
  expect(error).toBeInstanceOf(type);
  expect(error).toBeInstanceOf(EntitlementTokenError);
  if (cause) expect((error as Error).cause).toBeInstanceOf(cause);
  return error as EntitlementTokenError;
}
