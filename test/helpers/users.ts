import { hashToken } from '../../src/users/index.js';
import { registerSecret } from './log-scan.js';

/** A user of the extension, created over HTTP like the extension does. */
export interface TestUser {
  userId: string;
  token: string;
}

export async function createUser(baseUrl: string): Promise<TestUser> {
  const response = await fetch(`${baseUrl}/v1/users`, { method: 'POST' });
  if (response.status !== 201) throw new Error(`POST /v1/users answered ${response.status}`);
  const user = (await response.json()) as TestUser;
  registerSecret('a user bearer token', user.token);
  registerSecret("a user bearer token's hash", hashToken(user.token));
  return user;
}

export async function getEntitlement(baseUrl: string, token: string): Promise<any> {
  const response = await fetch(`${baseUrl}/v1/entitlements`, { headers: { authorization: `Bearer ${token}` } });
  if (response.status !== 200) throw new Error(`GET /v1/entitlements answered ${response.status}`);
  return response.json();
}

export async function premiumPing(baseUrl: string, token: string | undefined): Promise<number> {
  const response = await fetch(`${baseUrl}/v1/premium/ping`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  await response.arrayBuffer();
  return response.status;
}

/** `POST /v1/billing/<route>` as the extension calls it. */
export async function billing(
  baseUrl: string,
  token: string | undefined,
  route: 'checkout' | 'portal',
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${baseUrl}/v1/billing/${route}`, {
    method: 'POST',
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}
