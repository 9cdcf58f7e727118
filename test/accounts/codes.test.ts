import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/databases.js';
import { registerSecret } from '../helpers/log-scan.js';
import { createUser, getEntitlement } from '../helpers/users.js';
import {
  expectNothingSecretLogged,
  LIMITS,
  lastMessageTo,
  newClientIp,
  newEmail,
  post,
  receiveCode,
  requestCode,
  useAccountService,
  verifyCode,
  wrongCode,
} from './restore-helpers.js';

/** An address of exactly `length` characters: a 64-character local part and a domain of labels of at most 63. */
function addressOfLength(length: number): string {
  const local = `l${'0'.repeat(63)}`;
  let domain = 'example';
  while (local.length + 1 + domain.length < length) {
    const room = length - (local.length + 1 + domain.length) - 1;
    domain = `${'d'.repeat(Math.min(63, room) || 1)}.${domain}`;
  }
  return `${local}@${domain}`.slice(0, length);
}

/** The one code an install holds for an address: wrong guesses, use, replacement and expiry all void it. */
describe.each(BACKENDS)('emailed codes on $name', (backend) => {
  let clockOffsetMs = 0;
  const context = useAccountService(backend, { now: () => Date.now() + clockOffsetMs });

  async function setUp() {
    const user = await createUser(context.svc.baseUrl);
    return { user, email: newEmail(context), ip: newClientIp() };
  }

  it('a message holds the code as its only 6-digit number', async () => {
    const { user, email, ip } = await setUp();
    await receiveCode(context, user.token, email, ip);
    const message = lastMessageTo(context, email)!;
    expect(message.text.match(/\b\d{6}\b/g)).toHaveLength(1);
    expect(message.subject).not.toMatch(/\d{6}/);
  });

  it(`${LIMITS.wrongCodes - 1} wrong codes are each 400 code_invalid, and the right one still opens`, async () => {
    const { user, email, ip } = await setUp();
    const code = await receiveCode(context, user.token, email, ip);
    for (let i = 1; i < LIMITS.wrongCodes; i++) {
      const answer = await verifyCode(context, user.token, email, wrongCode(code, i), ip);
      expect([answer.status, answer.body?.error]).toEqual([400, 'code_invalid']);
    }
    expect((await verifyCode(context, user.token, email, code, ip)).status).toBe(200);
  });

  it(`after ${LIMITS.wrongCodes} wrong codes the code is void: the right one is code_invalid too, until a new code is sent`, async () => {
    const { user, email, ip } = await setUp();
    const code = await receiveCode(context, user.token, email, ip);
    for (let i = 1; i <= LIMITS.wrongCodes; i++)
      expect((await verifyCode(context, user.token, email, wrongCode(code, i), ip)).status).toBe(400);
    const refused = await verifyCode(context, user.token, email, code, ip);
    expect([refused.status, refused.body?.error]).toEqual([400, 'code_invalid']);
    expect((await getEntitlement(context.svc.baseUrl, user.token)).userId).toBe(user.userId);
    const next = await receiveCode(context, user.token, email, ip);
    expect((await verifyCode(context, user.token, email, next, ip)).body).toMatchObject({ userId: user.userId, linked: true });
  });

  it('a used code is void', async () => {
    const { user, email, ip } = await setUp();
    const code = await receiveCode(context, user.token, email, ip);
    expect((await verifyCode(context, user.token, email, code, ip)).status).toBe(200);
    const again = await verifyCode(context, user.token, email, code, ip);
    expect([again.status, again.body?.error]).toEqual([400, 'code_invalid']);
  });

  it('a new code voids the one before', async () => {
    const { user, email, ip } = await setUp();
    const first = await receiveCode(context, user.token, email, ip);
    const second = await receiveCode(context, user.token, email, ip);
    expect(second).not.toBe(first);
    const old = await verifyCode(context, user.token, email, first, ip);
    expect([old.status, old.body?.error]).toEqual([400, 'code_invalid']);
    expect((await verifyCode(context, user.token, email, second, ip)).status).toBe(200);
  });

  it('a code opens only for the address it was sent to, and only for the install that asked', async () => {
    const { user, email, ip } = await setUp();
    const other = await createUser(context.svc.baseUrl);
    const code = await receiveCode(context, user.token, email, ip);
    expect((await verifyCode(context, user.token, newEmail(context), code, ip)).body?.error).toBe('code_invalid');
    expect((await verifyCode(context, other.token, email, code, ip)).body?.error).toBe('code_invalid');
    expect((await verifyCode(context, user.token, email, code, ip)).status).toBe(200);
  });

  it('with no code sent, any code is code_invalid', async () => {
    const { user, email, ip } = await setUp();
    const answer = await verifyCode(context, user.token, email, '123456', ip);
    expect([answer.status, answer.body?.error]).toEqual([400, 'code_invalid']);
  });

  it.each([
    ['no address', {}],
    ['an empty address', { email: '' }],
    ['no @', { email: 'plainaddress' }],
    ['nothing before the @', { email: '@restore.example' }],
    ['nothing after the @', { email: 'someone@' }],
    ['two @', { email: 'some@one@restore.example' }],
    ['a space inside', { email: 'some one@restore.example' }],
    ['a line break inside', { email: 'someone@restore.example\r\nBcc: victim@restore.example' }],
    // What a mail library would read as a name and another recipient, or as two recipients.
    ['a name and another address in angle brackets', { email: 'someone<other@restore.example>' }],
    ['a comma', { email: 'someone,other@restore.example' }],
    ['a control character', { email: 'some\u0000one@restore.example' }],
    ['a number', { email: 12345 }],
    ['null', { email: null }],
    ['255 characters', { email: addressOfLength(255) }],
    ['an unknown field', { email: 'someone@restore.example', name: 'x' }],
  ])('POST /v1/account/email with %s: 400 invalid_request, nothing sent', async (_name, body) => {
    const user = await createUser(context.svc.baseUrl);
    const sent = context.smtp.messages.length;
    const answer = await post(context, '/v1/account/email', user.token, body, newClientIp());
    expect([answer.status, answer.body?.error]).toEqual([400, 'invalid_request']);
    if ('name' in body) expect(answer.body.message).toBe('unknown field: name');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(context.smtp.messages.length).toBe(sent);
  });

  it('an address of 253 characters gets its code; one of 254, more than SMTP servers take, is invalid', async () => {
    const user = await createUser(context.svc.baseUrl);
    const ip = newClientIp();
    const [long, longest] = [addressOfLength(253), addressOfLength(254)];
    for (const email of [long, longest]) {
      registerSecret('an email address a test used', email);
      context.emails.push(email);
    }
    const code = await receiveCode(context, user.token, long, ip);
    expect((await verifyCode(context, user.token, long, code, ip)).body).toMatchObject({ email: long, linked: true });
    // SMTP servers (smtp-server among them) refuse a path over 253: the service refuses it first, clearly.
    const answer = await requestCode(context, user.token, longest, ip);
    expect(answer.body?.error).toBe('invalid_request');
  });

  it.each([
    ['/v1/account/verify', { email: 'someone@restore.example', code: '123456', remember: true }, 'unknown field: remember'],
    ['/v1/account/signout', { everywhere: true }, 'unknown field: everywhere'],
  ])('POST %s with an unknown field: 400 invalid_request naming it', async (path, body, message) => {
    const user = await createUser(context.svc.baseUrl);
    expect((await post(context, path, user.token, body, newClientIp())).body).toEqual({ error: 'invalid_request', message });
    expect((await getEntitlement(context.svc.baseUrl, user.token)).userId).toBe(user.userId);
  });

  it.each(['12345', '1234567', '12345a', 123456])('POST /v1/account/verify with the code %j: 400', async (code) => {
    const { user, email, ip } = await setUp();
    const answer = await post(context, '/v1/account/verify', user.token, { email, code }, ip);
    expect(answer.status).toBe(400);
    expect(['invalid_request', 'code_invalid']).toContain(answer.body?.error);
  });

  it.each(['/v1/account/email', '/v1/account/verify', '/v1/account/signout'])('POST %s without a valid token: 401', async (path) => {
    const body = path.endsWith('signout') ? undefined : { email: 'someone@restore.example', code: '123456' };
    for (const token of [undefined, 'A'.repeat(43)]) expect((await post(context, path, token, body, newClientIp())).status).toBe(401);
  });

  // Last: it moves the service's clock.
  it('a code lives 10 minutes by the service clock: still good just before, code_invalid after', async () => {
    const early = await setUp();
    const code = await receiveCode(context, early.user.token, early.email, early.ip);
    clockOffsetMs += LIMITS.codeLifetimeMs - 10_000;
    expect((await verifyCode(context, early.user.token, early.email, code, early.ip)).status).toBe(200);

    const late = await setUp();
    const expiring = await receiveCode(context, late.user.token, late.email, late.ip);
    clockOffsetMs += LIMITS.codeLifetimeMs + 1000;
    const expired = await verifyCode(context, late.user.token, late.email, expiring, late.ip);
    expect([expired.status, expired.body?.error]).toEqual([400, 'code_invalid']);
    const fresh = await receiveCode(context, late.user.token, late.email, late.ip);
    expect((await verifyCode(context, late.user.token, late.email, fresh, late.ip)).status).toBe(200);
  });

  it('no log line holds a code or a whole address', () => {
    expectNothingSecretLogged(context);
  });
});
