import { describe, expect, it } from 'vitest';
import { hashToken } from '../../src/users/index.js';
import { BACKENDS } from '../helpers/databases.js';
import { useService } from '../helpers/service.js';
import { createUser, premiumPing } from '../helpers/users.js';

describe.each(BACKENDS)('users and bearer tokens on $name', (backend) => {
  const context = useService(backend);

  it.each([
    ['no body', undefined, undefined],
    ['an empty JSON body', 'application/json', ''],
    ['{}', 'application/json', '{}'],
  ])('POST /v1/users with %s: 201 with a user id and a 43+ character token', async (_name, type, body) => {
    const response = await fetch(`${context.svc.baseUrl}/v1/users`, {
      method: 'POST',
      headers: type ? { 'content-type': type } : {},
      body,
    });
    expect(response.status).toBe(201);
    const created = (await response.json()) as { userId: string; token: string };
    expect(created.userId).toMatch(/^usr_/);
    expect(created.token).toMatch(/^[A-Za-z0-9_-]{43,}$/);
  });

  it('stores only a hash of the token', async () => {
    const user = await createUser(context.svc.baseUrl);
    const row = await context.svc.store.db.selectFrom('users').selectAll().where('id', '=', user.userId).executeTakeFirstOrThrow();
    expect(row.token_hash).toBe(hashToken(user.token));
    expect(JSON.stringify(row)).not.toContain(user.token);
  });

  it('tokens are unique per user', async () => {
    const users = await Promise.all(Array.from({ length: 20 }, () => createUser(context.svc.baseUrl)));
    expect(new Set(users.map((u) => u.token)).size).toBe(20);
    expect(new Set(users.map((u) => u.userId)).size).toBe(20);
  });

  it.each([
    ['no header', undefined],
    ['an unknown token', 'Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a malformed header', 'Token abc'],
    ['a token hash instead of the token', 'hash'],
  ])('GET /v1/entitlements with %s: 401', async (_name, authorization) => {
    const user = await createUser(context.svc.baseUrl);
    const value = authorization === 'hash' ? `Bearer ${hashToken(user.token)}` : authorization;
    const response = await fetch(`${context.svc.baseUrl}/v1/entitlements`, { headers: value ? { authorization: value } : {} });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe('unauthorized');
    expect(await premiumPing(context.svc.baseUrl, value?.replace('Bearer ', ''))).toBe(401);
  });

  it("a token only ever reads its own user's data, whatever else the request says", async () => {
    const [alice, bob] = [await createUser(context.svc.baseUrl), await createUser(context.svc.baseUrl)];
    for (const [me, other] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      const response = await fetch(`${context.svc.baseUrl}/v1/entitlements?userId=${other.userId}&user_id=${other.userId}`, {
        headers: { authorization: `Bearer ${me.token}`, 'x-user-id': other.userId },
      });
      expect(((await response.json()) as { userId: string }).userId).toBe(me.userId);
    }
  });

  it.each([
    ['one character changed', (token: string) => `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`],
    ['a prefix', (token: string) => token.slice(0, 30)],
    ['twice', (token: string) => token + token],
  ])("a user's token with %s: 401", async (_name, alter) => {
    const user = await createUser(context.svc.baseUrl);
    const response = await fetch(`${context.svc.baseUrl}/v1/entitlements`, { headers: { authorization: `Bearer ${alter(user.token)}` } });
    expect(response.status).toBe(401);
    expect(JSON.stringify(await response.json())).not.toContain(user.userId);
  });

  it("a deleted user's token: 401", async () => {
    const user = await createUser(context.svc.baseUrl);
    await context.svc.store.db.deleteFrom('users').where('id', '=', user.userId).execute();
    const response = await fetch(`${context.svc.baseUrl}/v1/entitlements`, { headers: { authorization: `Bearer ${user.token}` } });
    expect(response.status).toBe(401);
    expect(await premiumPing(context.svc.baseUrl, user.token)).toBe(401);
  });

  it('no route takes a user id from its path: the one parameter is a feature name, the user comes from the token', () => {
    const routes = context.svc.service.app.printRoutes({ commonPrefix: false });
    expect(routes).toContain('/v1/entitlements');
    expect(new Set([...routes.matchAll(/:\w+/g)].map((m) => m[0]))).toEqual(new Set([':feature']));
  });

  it('tokens, their hashes and Authorization headers never reach the logs, whatever the answer', async () => {
    const users = [await createUser(context.svc.baseUrl), await createUser(context.svc.baseUrl)];
    const sent: string[] = [];
    for (const user of users) {
      for (const token of [user.token, `${user.token.slice(0, -2)}xx`]) {
        sent.push(token);
        await fetch(`${context.svc.baseUrl}/v1/entitlements`, { headers: { authorization: `Bearer ${token}` } });
        await premiumPing(context.svc.baseUrl, token);
        await fetch(`${context.svc.baseUrl}/v1/nope`, { headers: { authorization: `Bearer ${token}` } });
      }
    }
    const logs = JSON.stringify(context.svc.logs);
    expect(logs).toContain('/v1/entitlements');
    for (const token of sent) {
      expect(logs).not.toContain(token);
      expect(logs).not.toContain(hashToken(token));
    }
  });

  it('unknown routes answer a JSON 404', async () => {
    const response = await fetch(`${context.svc.baseUrl}/v1/nope`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: string }).error).toBe('not_found');
  });

  it('a malformed JSON body on a user route is a 400 with a JSON error', async () => {
    const response = await fetch(`${context.svc.baseUrl}/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_json');
  });
});
