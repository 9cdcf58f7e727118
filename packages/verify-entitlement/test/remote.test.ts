import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { errors, type JWK } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JwksUnavailableError, TokenExpiredError, UnknownKeyError, verifyEntitlement } from '../index.js';
import { expectRefusal, ISSUER, newKey, sign, type TestKey } from './keys.js';

let keyA: TestKey;
let keyB: TestKey;

beforeAll(async () => {
  [keyA, keyB] = await Promise.all([newKey('key-a'), newKey('key-b')]);
});

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' };

/** A JWKS route on 127.0.0.1 that counts its requests; `respond` stands in for a broken one. */
async function startJwksServer(keys: JWK[]) {
  const state = { keys, requests: 0, respond: undefined as ((res: ServerResponse) => void) | undefined };
  const server = createServer((_req, res) => {
    state.requests++;
    if (state.respond) return state.respond(res);
    res.writeHead(200, JSON_HEADERS).end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  closers.push(close);
  return { state, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`, close };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

describe('verifyEntitlement with a remote JWKS', () => {
  it('fetches the set once for many verifications, per URL and cache options', async () => {
    const server = await startJwksServer([keyA.publicJwk]);
    const token = await sign(keyA);
    await Promise.all(Array.from({ length: 10 }, () => verifyEntitlement(token, { jwksUrl: server.url, issuer: ISSUER })));
    for (let i = 0; i < 10; i++) await verifyEntitlement(token, { jwksUrl: new URL(server.url), issuer: ISSUER });
    expect(server.state.requests).toBe(1);
    await verifyEntitlement(token, { jwksUrl: server.url, issuer: ISSUER, cooldownMs: 1000 });
    expect(server.state.requests).toBe(2);
  });

  it('fetches again once the cache is older than cacheMaxAgeMs', async () => {
    const server = await startJwksServer([keyA.publicJwk]);
    // Every signature checked, so that each verification needs the keys.
    const options = { jwksUrl: server.url, issuer: ISSUER, cacheMaxAgeMs: 400, verifiedCacheMs: 0 };
    const token = await sign(keyA);
    await verifyEntitlement(token, options);
    await verifyEntitlement(token, options);
    expect(server.state.requests).toBe(1);
    await sleep(450);
    await verifyEntitlement(token, options);
    expect(server.state.requests).toBe(2);
  });

  it('refetches once for a new kid during a rotation; old and new tokens then verify', async () => {
    const server = await startJwksServer([keyA.publicJwk]);
    const options = { jwksUrl: server.url, issuer: ISSUER, cooldownMs: 300 };
    const [oldToken, newToken] = await Promise.all([sign(keyA), sign(keyB)]);
    await verifyEntitlement(oldToken, options);
    expect(server.state.requests).toBe(1);
    server.state.keys = [keyB.publicJwk, keyA.publicJwk];
    await sleep(350);
    await expect(verifyEntitlement(newToken, options)).resolves.toMatchObject({ sub: 'user_1' });
    expect(server.state.requests).toBe(2);
    await verifyEntitlement(oldToken, options);
    await verifyEntitlement(newToken, options);
    expect(server.state.requests).toBe(2);
  });

  it('refuses a kid that is never published, and within the cooldown fetches no more', async () => {
    const server = await startJwksServer([keyA.publicJwk]);
    const options = { jwksUrl: server.url, issuer: ISSUER, cooldownMs: 300 };
    await verifyEntitlement(await sign(keyA), options);
    await sleep(350);
    const stranger = await sign(keyB, {}, 'key-never-published');
    await expectRefusal(verifyEntitlement(stranger, options), UnknownKeyError, errors.JWKSNoMatchingKey);
    expect(server.state.requests).toBe(2);
    for (let i = 0; i < 5; i++) await expectRefusal(verifyEntitlement(stranger, options), UnknownKeyError);
    expect(server.state.requests).toBe(2);
  });

  it('with the default 30 s cooldown, an unknown kid right after a fetch causes no refetch', async () => {
    const server = await startJwksServer([keyA.publicJwk]);
    const options = { jwksUrl: server.url, issuer: ISSUER };
    await verifyEntitlement(await sign(keyA), options);
    await expectRefusal(verifyEntitlement(await sign(keyB), options), UnknownKeyError);
    expect(server.state.requests).toBe(1);
  });

  it('reports an unreachable JWKS as jwks_unavailable', async () => {
    const server = await startJwksServer([keyA.publicJwk]);
    await server.close();
    const error = await expectRefusal(verifyEntitlement(await sign(keyA), { jwksUrl: server.url, issuer: ISSUER }), JwksUnavailableError);
    expect(error.code).toBe('jwks_unavailable');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('reports a failing, non-JSON, invalid or slow JWKS as jwks_unavailable, and recovers', async () => {
    const server = await startJwksServer([keyA.publicJwk]);
    const options = { jwksUrl: server.url, issuer: ISSUER, timeoutMs: 200 };
    const token = await sign(keyA);
    server.state.respond = (res) => res.writeHead(500).end();
    await expectRefusal(verifyEntitlement(token, options), JwksUnavailableError, errors.JOSEError);
    server.state.respond = (res) => res.writeHead(200, JSON_HEADERS).end('{"keys":');
    await expectRefusal(verifyEntitlement(token, options), JwksUnavailableError, errors.JOSEError);
    server.state.respond = (res) => res.writeHead(200, JSON_HEADERS).end('{"keys":"none"}');
    await expectRefusal(verifyEntitlement(token, options), JwksUnavailableError, errors.JWKSInvalid);
    server.state.respond = () => {};
    await expectRefusal(verifyEntitlement(token, options), JwksUnavailableError, errors.JWKSTimeout);
    server.state.respond = undefined;
    await expect(verifyEntitlement(token, options)).resolves.toMatchObject({ premium: true });
    expect(server.state.requests).toBe(5);
  });
  it('goes on with the keys fetched last while the service is down, says so, and waits a cooldown between tries', async () => {
    const server = await startJwksServer([keyA.publicJwk]);
    const failures: unknown[] = [];
    const options = {
      jwksUrl: server.url,
      issuer: ISSUER,
      cacheMaxAgeMs: 200,
      verifiedCacheMs: 0,
      cooldownMs: 300,
      onJwksError: (e: unknown) => failures.push(e),
    };
    const token = await sign(keyA);
    await verifyEntitlement(token, options);
    server.state.respond = (res) => res.writeHead(503).end();
    await sleep(250);
    await expect(verifyEntitlement(token, options)).resolves.toMatchObject({ premium: true });
    expect(failures).toHaveLength(1);
    expect(server.state.requests).toBe(2);
    for (let i = 0; i < 5; i++) await verifyEntitlement(token, options);
    expect(server.state.requests).toBe(2);
    await expectRefusal(verifyEntitlement(await sign(keyB), options), UnknownKeyError);
    // After the cooldown it tries again, and once the service answers the fresh set is used.
    server.state.respond = undefined;
    server.state.keys = [keyB.publicJwk];
    await sleep(350);
    await expect(verifyEntitlement(await sign(keyB), options)).resolves.toMatchObject({ premium: true });
    expect(server.state.requests).toBe(3);
    expect(failures).toHaveLength(1);
  });
  it('a token seen again is taken from the verified cache for verifiedCacheMs, its expiry still checked', async () => {
    const server = await startJwksServer([keyA.publicJwk]);
    const options = { jwksUrl: server.url, issuer: ISSUER, cacheMaxAgeMs: 100, cooldownMs: 0, verifiedCacheMs: 400 };
    const token = await sign(keyA);
    const first = await verifyEntitlement(token, options);
    // The key is withdrawn; a token already verified keeps verifying within the cache time, and no fetch is made for it.
    server.state.keys = [keyB.publicJwk];
    await sleep(150);
    expect(await verifyEntitlement(token, options)).toEqual(first);
    expect(server.state.requests).toBe(1);
    await expectRefusal(verifyEntitlement(token, { ...options, currentDate: new Date((first.exp + 1) * 1000) }), TokenExpiredError);
    await expectRefusal(verifyEntitlement(await sign(keyA, { sub: 'user_2' }), options), UnknownKeyError);
    await sleep(300);
    await expectRefusal(verifyEntitlement(token, options), UnknownKeyError);
  });
});
