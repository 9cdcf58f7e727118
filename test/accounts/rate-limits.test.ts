import { describe, expect, it } from 'vitest';
import { ACCOUNT_LIMITS } from '../../src/accounts/index.js';
import { BACKENDS } from '../helpers/databases.js';
import { createUser } from '../helpers/users.js';
import {
  expectNothingSecretLogged,
  expectRateLimited,
  LIMITS,
  newClientIp,
  newEmail,
  receiveCode,
  requestCode,
  typed,
  useAccountService,
  verifyCode,
  wrongCode,
} from './restore-helpers.js';

/**
 * Codes per address (an inbox is not flooded, whoever asks) and requests per client address
 * (one client cannot spray addresses or guess codes), each answered 429 with Retry-After.
 * The service trusts 127.0.0.1 as its proxy, so X-Forwarded-For is the client address.
 */
describe.each(BACKENDS)('rate limits of restore by email on $name', (backend) => {
  const context = useAccountService(backend);

  it("the service's limits are the contract's", () => {
    expect(ACCOUNT_LIMITS).toEqual({
      codesPerAddress: LIMITS.codesPerAddress,
      codeRequestsPerClient: LIMITS.codeRequestsPerIp,
      verifyAttemptsPerClient: LIMITS.verifyAttemptsPerIp,
    });
  });

  it(`${LIMITS.codesPerAddress} codes an hour per address, however it is written and whoever asks; the last code still works`, async () => {
    const email = newEmail(context, 'inbox');
    const user = await createUser(context.svc.baseUrl);
    const ip = newClientIp();
    let last = '';
    for (let i = 0; i < LIMITS.codesPerAddress; i++) last = await receiveCode(context, user.token, i % 2 ? typed(email) : email, ip);
    expect(context.smtp.countTo(email)).toBe(LIMITS.codesPerAddress);

    // Another install from another client address, the address in another case: still this inbox's limit.
    const other = await createUser(context.svc.baseUrl);
    const refused = await requestCode(context, other.token, typed(email), newClientIp());
    expectRateLimited(refused);
    expectRateLimited(await requestCode(context, user.token, email, ip));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(context.smtp.countTo(email)).toBe(LIMITS.codesPerAddress);

    // Refusing a sixth code did not void the fifth; another address is not limited.
    expect((await verifyCode(context, user.token, email, last, ip)).status).toBe(200);
    expect((await requestCode(context, other.token, newEmail(context), ip)).status).toBe(202);
  });

  it(`${LIMITS.codeRequestsPerIp} code requests an hour per client address, then 429; another client address is not limited`, async () => {
    const user = await createUser(context.svc.baseUrl);
    const ip = newClientIp();
    const statuses: number[] = [];
    for (let i = 0; i < LIMITS.codeRequestsPerIp; i++)
      statuses.push((await requestCode(context, user.token, newEmail(context), ip)).status);
    expect(new Set(statuses)).toEqual(new Set([202]));

    const email = newEmail(context);
    const other = await createUser(context.svc.baseUrl);
    expectRateLimited(await requestCode(context, user.token, email, ip));
    expectRateLimited(await requestCode(context, other.token, email, ip));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(context.smtp.countTo(email)).toBe(0);
    await receiveCode(context, user.token, email, newClientIp());
  });

  it(`${LIMITS.verifyAttemptsPerIp} verify attempts an hour per client address, checked before the code: then even a right code is 429`, async () => {
    const guesser = await createUser(context.svc.baseUrl);
    const ip = newClientIp();
    const target = newEmail(context);
    const code = await receiveCode(context, guesser.token, target, ip);
    const statuses: number[] = [];
    for (let i = 1; i <= LIMITS.verifyAttemptsPerIp; i++) {
      statuses.push((await verifyCode(context, guesser.token, target, wrongCode(code, i), ip)).status);
    }
    expect(new Set(statuses)).toEqual(new Set([400]));

    // Another install's good code, tried from the limited client address, then from another one.
    const honest = await createUser(context.svc.baseUrl);
    const email = newEmail(context);
    const elsewhere = newClientIp();
    const good = await receiveCode(context, honest.token, email, elsewhere);
    expectRateLimited(await verifyCode(context, honest.token, email, good, ip));
    expect((await verifyCode(context, honest.token, email, good, elsewhere)).body).toMatchObject({ userId: honest.userId, linked: true });
  });

  it('no log line holds a code or a whole address', () => {
    expectNothingSecretLogged(context);
  });
});
