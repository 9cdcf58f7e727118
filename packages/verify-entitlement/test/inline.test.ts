import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { base64url, errors, type JWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { EntitlementClaims as ServiceClaims } from '../../../src/entitlements/token.js';
import {
  BadSignatureError,
  type EntitlementClaims,
  EntitlementTokenError,
  JwksUnavailableError,
  MalformedTokenError,
  TokenExpiredError,
  UnknownKeyError,
  verifyEntitlement,
  WrongIssuerError,
} from '../index.js';
import { CLAIMS, encodeJson, expectRefusal, ISSUER, NOW, newKey, sign, type TestKey } from './keys.js';

const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

let keyA: TestKey;
let keyB: TestKey;
let jwks: { keys: JWK[] };
const verifyInline = (token: string, options: { currentDate?: Date; clockToleranceSeconds?: number; issuer?: string } = {}) =>
  verifyEntitlement(token, { jwks, issuer: ISSUER, ...options });

beforeAll(async () => {
  [keyA, keyB] = await Promise.all([newKey('key-a'), newKey('key-b')]);
  jwks = { keys: [keyA.publicJwk] };
});

describe('verifyEntitlement with an inline JWKS', () => {
  it('returns the claims of a valid token, and only those', async () => {
    const claims = await verifyInline(await sign(keyA, { extra: 'dropped' }));
    expect(claims).toEqual({ iss: ISSUER, sub: 'user_1', ...CLAIMS, iat: NOW, exp: NOW + 3600 });
    const free = { premium: false, reason: 'canceled', priceId: null, productId: null };
    expect(await verifyInline(await sign(keyA, free))).toMatchObject(free);
  });

  it('refuses a flipped byte in the signature, a changed payload and another key under the same kid', async () => {
    const [head, payload, signature] = (await sign(keyA, { premium: false })).split('.') as [string, string, string];
    const bytes = base64url.decode(signature);
    bytes[10] = bytes[10]! ^ 0x01;
    const flipped = `${head}.${payload}.${base64url.encode(bytes)}`;
    const error = await expectRefusal(verifyInline(flipped), BadSignatureError, errors.JWSSignatureVerificationFailed);
    expect(error.code).toBe('bad_signature');
    const upgraded = encodeJson({ ...JSON.parse(new TextDecoder().decode(base64url.decode(payload))), premium: true });
    await expectRefusal(verifyInline(`${head}.${upgraded}.${signature}`), BadSignatureError);
    await expectRefusal(verifyInline(await sign(keyB, {}, 'key-a')), BadSignatureError);
  });

  it('refuses an expired token, with clockToleranceSeconds as leeway', async () => {
    const token = await sign(keyA);
    const later = new Date((NOW + 3600 + 10) * 1000);
    const error = await expectRefusal(verifyInline(token, { currentDate: later }), TokenExpiredError, errors.JWTExpired);
    expect(error.code).toBe('expired');
    await expect(verifyInline(token, { currentDate: later, clockToleranceSeconds: 30 })).resolves.toMatchObject({ sub: 'user_1' });
  });

  it('refuses a token from another issuer', async () => {
    const token = await sign(keyA, { iss: 'https://elsewhere.example.test' });
    const error = await expectRefusal(verifyInline(token), WrongIssuerError, errors.JWTClaimValidationFailed);
    expect(error.code).toBe('wrong_issuer');
  });

  it('refuses a token whose kid is not in the set', async () => {
    const error = await expectRefusal(verifyInline(await sign(keyB)), UnknownKeyError, errors.JWKSNoMatchingKey);
    expect(error.code).toBe('unknown_key');
  });

  it('refuses HS256 and alg "none" as malformed', async () => {
    const claims = { iss: ISSUER, sub: 'user_1', ...CLAIMS, iat: NOW, exp: NOW + 3600 };
    const secret = new TextEncoder().encode(JSON.stringify(keyA.publicJwk));
    const hs256 = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'key-a' }).sign(secret);
    const error = await expectRefusal(verifyInline(hs256), MalformedTokenError, errors.JOSEAlgNotAllowed);
    expect(error.code).toBe('malformed');
    const none = `${encodeJson({ alg: 'none', kid: 'key-a', typ: 'JWT' })}.${encodeJson(claims)}.`;
    await expectRefusal(verifyInline(none), MalformedTokenError, errors.JOSEAlgNotAllowed);
  });

  it.each<[string, Record<string, unknown>]>([
    ['premium as a string', { premium: 'true' }],
    ['features as a string', { features: 'export' }],
    ['a feature that is a number', { features: ['export', 7] }],
    ['sub as a number', { sub: 42 }],
    ['an empty sub', { sub: '' }],
    ['no reason', { reason: undefined }],
    ['priceId as a number', { priceId: 5 }],
    ['no productId', { productId: undefined }],
    ['no exp', { exp: undefined }],
    ['exp as a string', { exp: `${NOW + 3600}` }],
    ['no iat', { iat: undefined }],
    ['no iss', { iss: undefined }],
  ])('refuses a signed token with %s as malformed', async (_, payload) => {
    await expectRefusal(verifyInline(await sign(keyA, payload)), MalformedTokenError);
  });

  it('refuses garbage, a missing kid and a non-string as malformed', async () => {
    for (const token of ['', 'garbage', 'a.b.c', 'a.b', `${encodeJson({ alg: 'EdDSA' })}.e30.`, await sign(keyA, {}, '')]) {
      await expectRefusal(verifyInline(token), MalformedTokenError);
    }
    await expectRefusal(verifyInline(undefined as unknown as string), MalformedTokenError);
  });

  it('throws a TypeError for options it cannot use', async () => {
    const token = await sign(keyA);
    await expect(verifyInline(token, { issuer: '' })).rejects.toBeInstanceOf(TypeError);
    await expect(verifyEntitlement(token, { issuer: ISSUER } as never)).rejects.toBeInstanceOf(TypeError);
    await expect(verifyEntitlement(token, { jwksUrl: 'not a url', issuer: ISSUER })).rejects.toBeInstanceOf(TypeError);
  });
});

describe('the package', () => {
  it('packs exactly its four files and depends on jose alone, of the root major', () => {
    const output = execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: PACKAGE_DIR, encoding: 'utf8', stdio: 'pipe' });
    const [packed] = JSON.parse(output) as { name: string; version: string; files: { path: string }[] }[];
    expect(packed!.files.map((file) => file.path).sort()).toEqual(['README.md', 'index.d.ts', 'index.js', 'package.json']);
    expect(packed).toMatchObject({ name: '@extension-billing/verify-entitlement', version: '0.1.0' });
    const manifest = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8'));
    const root = JSON.parse(readFileSync(join(PACKAGE_DIR, '..', '..', 'package.json'), 'utf8'));
    expect(Object.keys(manifest.dependencies)).toEqual(['jose']);
    expect(manifest.devDependencies).toBeUndefined();
    const major = (range: string) => /\d+/.exec(range)?.[0];
    expect(major(manifest.dependencies.jose)).toBe(major(root.dependencies.jose));
    expect(manifest.exports).toEqual({ '.': { types: './index.d.ts', default: './index.js' } });
    expect(manifest.files).toEqual(['index.js', 'index.d.ts', 'README.md']);
    expect([manifest.type, manifest.engines]).toEqual(['module', { node: '>=20' }]);
  });

  it('exports at run time what index.d.ts declares, with the types it declares', async () => {
    const errorClasses = { BadSignatureError, EntitlementTokenError, JwksUnavailableError, MalformedTokenError, TokenExpiredError };
    const names = [...Object.keys(errorClasses), 'UnknownKeyError', 'WrongIssuerError', 'verifyEntitlement'];
    expect(Object.keys(await import('../index.js')).sort()).toEqual(names);
    expect(new UnknownKeyError()).toMatchObject({ name: 'UnknownKeyError', code: 'unknown_key', message: expect.any(String) });
    expectTypeOf(verifyEntitlement).returns.resolves.toEqualTypeOf<EntitlementClaims>();
    // The service's claims (src/entitlements/token.ts) and the package's are the same.
    expectTypeOf<EntitlementClaims>().toEqualTypeOf<ServiceClaims>();
    expectTypeOf<TokenExpiredError['code']>().toEqualTypeOf<'expired'>();
    expectTypeOf<JwksUnavailableError['code']>().toEqualTypeOf<'jwks_unavailable'>();
    expectTypeOf<EntitlementTokenError['code']>().toEqualTypeOf<
      'expired' | 'bad_signature' | 'wrong_issuer' | 'unknown_key' | 'malformed' | 'jwks_unavailable'
    >();
    const typeErrors = () => [
      // @ts-expect-error: both a URL and inline keys
      verifyEntitlement('t', { jwksUrl: 'https://x.test/jwks.json', jwks, issuer: ISSUER }),
      // @ts-expect-error: no issuer
      verifyEntitlement('t', { jwksUrl: 'https://x.test/jwks.json' }),
      // @ts-expect-error: fetch options with inline keys
      verifyEntitlement('t', { jwks, issuer: ISSUER, cooldownMs: 1 }),
    ];
    expect(typeErrors).toBeTypeOf('function');
  });
});
