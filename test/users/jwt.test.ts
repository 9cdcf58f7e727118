import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/databases.js';
import { deliverAll, newId, nowSeconds, subscriptionEvent } from '../helpers/events.js';
import { registerSecret } from '../helpers/log-scan.js';
import { useService } from '../helpers/service.js';
import { createUser } from '../helpers/users.js';

const ISSUER = 'https://auth.seller.test/';
const AUDIENCE = 'extension-billing';

/** A local identity provider: a JWKS endpoint and keys made here. */
async function identityProvider() {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const other = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' };
  const server: Server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    jwksUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}/.well-known/jwks.json`,
    sign(claims: { sub?: string; iss?: string; aud?: string; exp?: number }, key = privateKey) {
      let jwt = new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'key-1' }).setIssuedAt();
      if (claims.sub !== undefined) jwt = jwt.setSubject(claims.sub);
      return jwt
        .setIssuer(claims.iss ?? ISSUER)
        .setAudience(claims.aud ?? AUDIENCE)
        .setExpirationTime(claims.exp ?? nowSeconds() + 600)
        .sign(key)
        .then((token) => {
          registerSecret('a JWT bearer token', token);
          return token;
        });
    },
    otherKey: other.privateKey,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe.each(BACKENDS)("the seller's own sign-in (JWT bearer tokens) on $name", (backend) => {
  let idp: Awaited<ReturnType<typeof identityProvider>>;
  const jwt = { jwksUrl: '', issuer: ISSUER, audience: AUDIENCE };
  beforeAll(async () => {
    idp = await identityProvider();
    jwt.jwksUrl = idp.jwksUrl;
  });
  afterAll(async () => idp?.close());
  const context = useService(backend, { config: { jwt } });

  async function entitlementStatus(token: string) {
    const response = await fetch(`${context.svc.baseUrl}/v1/entitlements`, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, body: (await response.json()) as any };
  }

  it('a valid token is the user named by its sub, created on first sight, and sees its subscription', async () => {
    const sub = `auth0|${newId('u')}`;
    const first = await entitlementStatus(await idp.sign({ sub }));
    expect(first).toMatchObject({ status: 200, body: { userId: sub, premium: false, reason: 'no_subscription' } });
    const row = await context.svc.store.db.selectFrom('users').selectAll().where('id', '=', sub).executeTakeFirstOrThrow();
    expect(row.token_hash).toBeNull();

    await deliverAll(context.svc.baseUrl, [
      subscriptionEvent('created', { id: newId('sub'), customer: newId('cus'), status: 'active', userId: sub }, nowSeconds()),
    ]);
    await context.svc.settle();
    expect((await entitlementStatus(await idp.sign({ sub }))).body).toMatchObject({ userId: sub, premium: true });
  });

  it.each([
    ['expired', () => idp.sign({ sub: 'user-a', exp: nowSeconds() - 60 })],
    ['signed with another key', () => idp.sign({ sub: 'user-a' }, idp.otherKey)],
    ['for another audience', () => idp.sign({ sub: 'user-a', aud: 'someone-else' })],
    ['from another issuer', () => idp.sign({ sub: 'user-a', iss: 'https://evil.test/' })],
    ['without a sub', () => idp.sign({})],
    [
      'tampered with',
      async () =>
        (await idp.sign({ sub: 'user-a' })).replace(
          /\.[^.]+\./,
          `.${Buffer.from(JSON.stringify({ sub: 'user-b', iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 600 })).toString('base64url')}.`,
        ),
    ],
  ])('a token %s is a 401', async (_name, make) => {
    expect((await entitlementStatus(await make())).status).toBe(401);
  });

  it('opaque tokens of anonymous users keep working', async () => {
    const user = await createUser(context.svc.baseUrl);
    expect((await entitlementStatus(user.token)).body.userId).toBe(user.userId);
  });
});

describe('when the key server cannot be reached', () => {
  const context = useService(BACKENDS[0], {
    config: { jwt: { jwksUrl: 'http://127.0.0.1:1/.well-known/jwks.json', issuer: ISSUER, audience: AUDIENCE } },
  });
  it('a JWT check is a 503 (try again), not a 401 (token refused)', async () => {
    const idp = await identityProvider();
    try {
      const response = await fetch(`${context.svc.baseUrl}/v1/entitlements`, {
        headers: { authorization: `Bearer ${await idp.sign({ sub: 'someone' })}` },
      });
      expect(response.status).toBe(503);
      expect(((await response.json()) as { error: string }).error).toBe('auth_unavailable');
    } finally {
      await idp.close();
    }
  });
});

describe('without AUTH_ settings', () => {
  const context = useService(BACKENDS[0]);
  it('a JWT is a 401', async () => {
    const idp = await identityProvider();
    try {
      const response = await fetch(`${context.svc.baseUrl}/v1/entitlements`, {
        headers: { authorization: `Bearer ${await idp.sign({ sub: 'someone' })}` },
      });
      expect(response.status).toBe(401);
    } finally {
      await idp.close();
    }
  });
});
