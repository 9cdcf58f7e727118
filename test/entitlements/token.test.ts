import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BadSignatureError,
  MalformedTokenError,
  TokenExpiredError,
  UnknownKeyError,
  verifyEntitlement,
  WrongIssuerError,
} from '../../packages/verify-entitlement/index.js';
import { generateSigningKey, loadConfig, type SigningKey } from '../../src/config/index.js';
import { BACKENDS, type TestDatabase } from '../helpers/databases.js';
import { checkoutCompletedEvent, deliverAll, newId, nowSeconds, type SubscriptionSpec, subscriptionEvent } from '../helpers/events.js';
import { registerSecret } from '../helpers/log-scan.js';
import { type RunningService, startService, TEST_ISSUER, TEST_SIGNING_KEY, useService } from '../helpers/service.js';
import { createUser, getEntitlement } from '../helpers/users.js';

/** Real keys, real signatures: the token of GET /v1/entitlements, verified as a seller's backend would. */

const jwksUrl = (svc: RunningService) => `${svc.baseUrl}/.well-known/jwks.json`;

/** A user subscribed through a delivered checkout and subscription event; returns what to cancel it with. */
async function premiumUser(svc: RunningService, extra: Partial<SubscriptionSpec> = {}) {
  const user = await createUser(svc.baseUrl);
  const spec: SubscriptionSpec = { id: newId('sub'), customer: newId('cus'), status: 'active', priceId: 'price_pro', ...extra };
  const t = nowSeconds() - 60;
  await deliverAll(svc.baseUrl, [
    checkoutCompletedEvent({ customer: spec.customer, userId: user.userId, subscription: spec.id, created: t }),
    subscriptionEvent('created', spec, t),
  ]);
  await svc.settle();
  return { ...user, spec, t };
}

/** The same token with one character of its signature changed. */
function flipped(token: string): string {
  const at = token.length - 5;
  return token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);
}

describe.each(BACKENDS)('signed entitlement tokens on $name', (backend) => {
  const context = useService(backend, { config: { priceFeatures: { price_pro: ['export', 'sync'] } } });

  it("a premium user's token verifies with jose and with the verifier package, and says what the answer says", async () => {
    const { svc } = context;
    const user = await premiumUser(svc);
    const answer = await getEntitlement(svc.baseUrl, user.token);
    expect(answer.premium).toBe(true);
    expect(decodeProtectedHeader(answer.token)).toEqual({ alg: 'EdDSA', kid: TEST_SIGNING_KEY.kid, typ: 'JWT' });

    const { payload } = await jwtVerify(answer.token, createRemoteJWKSet(new URL(jwksUrl(svc))), {
      issuer: TEST_ISSUER,
      algorithms: ['EdDSA'],
    });
    const claims = await verifyEntitlement(answer.token, { jwksUrl: jwksUrl(svc), issuer: TEST_ISSUER });
    expect(claims).toEqual(payload);
    expect(claims).toEqual({
      iss: TEST_ISSUER,
      sub: user.userId,
      premium: true,
      reason: 'active',
      features: ['export', 'sync'],
      priceId: 'price_pro',
      productId: 'prod_extension',
      iat: expect.any(Number),
      exp: claims.iat + 3600,
    });
    for (const field of ['premium', 'reason', 'features', 'priceId', 'productId'] as const) expect(claims[field]).toEqual(answer[field]);
    expect(Math.abs(claims.iat - nowSeconds())).toBeLessThanOrEqual(2);
  });

  it('refuses a flipped byte, an expired token, another issuer and an unknown kid, each with its own error', async () => {
    const { svc } = context;
    const { token } = await getEntitlement(svc.baseUrl, (await premiumUser(svc)).token);
    const options = { jwksUrl: jwksUrl(svc), issuer: TEST_ISSUER };
    const { exp } = await verifyEntitlement(token, options);
    await expect(verifyEntitlement(flipped(token), options)).rejects.toBeInstanceOf(BadSignatureError);
    await expect(verifyEntitlement(token, { ...options, currentDate: new Date((exp + 1) * 1000) })).rejects.toBeInstanceOf(
      TokenExpiredError,
    );
    await expect(verifyEntitlement(token, { ...options, issuer: 'https://another.example' })).rejects.toBeInstanceOf(WrongIssuerError);
    const stranger = generateSigningKey();
    const otherSet = { keys: [{ kty: 'OKP', crv: 'Ed25519', x: stranger.x, kid: stranger.kid, alg: 'EdDSA' }] };
    await expect(verifyEntitlement(token, { jwks: otherSet, issuer: TEST_ISSUER })).rejects.toBeInstanceOf(UnknownKeyError);
    await expect(verifyEntitlement('not.a.token', options)).rejects.toBeInstanceOf(MalformedTokenError);
  });

  it('after a cancellation is applied, the next token says premium: false', async () => {
    const { svc } = context;
    const user = await premiumUser(svc);
    const options = { jwksUrl: jwksUrl(svc), issuer: TEST_ISSUER };
    expect((await verifyEntitlement((await getEntitlement(svc.baseUrl, user.token)).token, options)).premium).toBe(true);
    await deliverAll(svc.baseUrl, [subscriptionEvent('deleted', { ...user.spec, status: 'canceled' }, user.t + 10)]);
    await svc.settle();
    const claims = await verifyEntitlement((await getEntitlement(svc.baseUrl, user.token)).token, options);
    expect(claims).toMatchObject({ premium: false, reason: 'canceled', features: [], sub: user.userId });
  });

  it('a premium token ends where the access does: at a cancel_at sooner than the TTL', async () => {
    const { svc } = context;
    const cancelAt = nowSeconds() + 600;
    const user = await premiumUser(svc, { cancelAt });
    const claims = await verifyEntitlement((await getEntitlement(svc.baseUrl, user.token)).token, {
      jwksUrl: jwksUrl(svc),
      issuer: TEST_ISSUER,
    });
    expect(claims).toMatchObject({ premium: true, exp: cancelAt });
  });

  it('publishes public keys only, cacheable for five minutes', async () => {
    const response = await fetch(jwksUrl(context.svc));
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=300');
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await response.json();
    expect(body).toEqual({
      keys: [{ kty: 'OKP', crv: 'Ed25519', x: TEST_SIGNING_KEY.x, kid: TEST_SIGNING_KEY.kid, alg: 'EdDSA', use: 'sig' }],
    });
    expect(JSON.stringify(body)).not.toContain(TEST_SIGNING_KEY.d);
  });
});

describe.each(BACKENDS)('key rotation and restarts on $name', (backend) => {
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    for (const database of databases) await database.drop();
  });
  const settings = (signingKeys: SigningKey[]) => ({
    config: { entitlementTokens: { signingKeys, keySource: 'env' as const, issuer: TEST_ISSUER, ttlSeconds: 3600 } },
  });

  it('old tokens verify until they expire while new ones carry the new kid; the JWKS is refetched for it', async () => {
    const database = await backend.create();
    databases.push(database);
    const [current, next] = [generateSigningKey(), generateSigningKey()];
    for (const key of [current, next]) registerSecret('a rotation test key', key.d);
    const before = await startService(database, settings([current]));
    const port = Number(new URL(before.baseUrl).port);
    const user = await createUser(before.baseUrl);
    // A short cooldown: the verifier refetches for an unknown kid at most this often.
    const options = { jwksUrl: jwksUrl(before), issuer: TEST_ISSUER, cooldownMs: 100 };
    const old = (await getEntitlement(before.baseUrl, user.token)).token;
    expect(decodeProtectedHeader(old).kid).toBe(current.kid);
    // The verifier has fetched and cached the JWKS with only the current key in it.
    await verifyEntitlement(old, options);
    await before.close();

    // The rotation: the new key first (it signs), the previous one after it (still published).
    const after = await startService(database, { ...settings([next, current]), port });
    await new Promise((resolve) => setTimeout(resolve, 150));
    try {
      const fresh = (await getEntitlement(after.baseUrl, user.token)).token;
      expect(decodeProtectedHeader(fresh).kid).toBe(next.kid);
      expect((await verifyEntitlement(fresh, options)).sub).toBe(user.userId);
      expect((await verifyEntitlement(old, options)).sub).toBe(user.userId);
      const published = (await (await fetch(jwksUrl(after))).json()).keys.map((k: { kid: string }) => k.kid);
      expect(published).toEqual([next.kid, current.kid]);
    } finally {
      await after.close();
    }

    // Once the old tokens have expired, the previous key is removed: they no longer verify.
    const later = await startService(database, settings([next]));
    try {
      const jwks = await (await fetch(jwksUrl(later))).json();
      await expect(verifyEntitlement(old, { jwks, issuer: TEST_ISSUER })).rejects.toBeInstanceOf(UnknownKeyError);
    } finally {
      await later.close();
    }
  });

  it('tokens from before a restart verify after it (local mode keeps its generated key)', async () => {
    const database = await backend.create();
    databases.push(database);
    const dataDir = mkdtempSync(join(tmpdir(), 'billing-token-restart-'));
    try {
      const first = loadConfig({ DATA_DIR: dataDir }).entitlementTokens;
      registerSecret('a local signing key', first.signingKeys[0]!.d);
      const before = await startService(database, { config: { entitlementTokens: first } });
      const user = await createUser(before.baseUrl);
      const token = (await getEntitlement(before.baseUrl, user.token)).token;
      await before.close();

      const second = loadConfig({ DATA_DIR: dataDir }).entitlementTokens;
      expect(second.keySource).toBe('stored');
      const after = await startService(database, { config: { entitlementTokens: second } });
      try {
        const jwks = createLocalJWKSet(await (await fetch(jwksUrl(after))).json());
        const { payload } = await jwtVerify(token, jwks, { issuer: first.issuer, algorithms: ['EdDSA'] });
        expect(payload.sub).toBe(user.userId);
      } finally {
        await after.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
