import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingError, serviceError } from '../../extension/client/errors.js';
import { createSqliteDatabase, type TestDatabase } from '../helpers/databases.js';
import { type RunningService, startService } from '../helpers/service.js';
import { type SmtpCapture, startSmtpCapture } from '../helpers/smtp.js';
import { createUser } from '../helpers/users.js';

/**
 * The extension library's typed errors (extension/client/errors.ts), made from the real service's
 * answers over loopback HTTP: one service with a real SMTP capture, one without SMTP_URL.
 */
describe("the extension client: the service's refusals as typed errors", () => {
  let capture: SmtpCapture;
  const databases: TestDatabase[] = [];
  let withEmail: RunningService;
  let withoutEmail: RunningService;

  beforeAll(async () => {
    capture = await startSmtpCapture();
    databases.push(await createSqliteDatabase(), await createSqliteDatabase());
    withEmail = await startService(databases[0]!, { config: { email: { smtpUrl: capture.url, from: 'billing@example.test' } } });
    withoutEmail = await startService(databases[1]!);
  });
  afterAll(async () => {
    await withEmail?.close();
    await withoutEmail?.close();
    await capture?.close();
    for (const database of databases) await database.drop();
  });

  async function post(svc: RunningService, path: string, token: string, body: unknown): Promise<Response> {
    return fetch(`${svc.baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  it('503 email_not_configured: a service without SMTP_URL', async () => {
    const { token } = await createUser(withoutEmail.baseUrl);
    const response = await post(withoutEmail, '/v1/account/email', token, { email: 'buyer@example.test' });
    expect(response.status).toBe(503);
    const error = await serviceError(response);
    expect(error).toBeInstanceOf(BillingError);
    expect(error).toMatchObject({ kind: 'email_not_configured', status: 503, retryAfterSeconds: null });
    expect(error.message).toMatch(/not set up/);
  });

  it('400 code_invalid: a wrong code; the right one then works', async () => {
    const email = 'wrong-code@example.test';
    const { token } = await createUser(withEmail.baseUrl);
    expect((await post(withEmail, '/v1/account/email', token, { email })).status).toBe(202);
    const code = await capture.waitForCode(email);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    const error = await serviceError(await post(withEmail, '/v1/account/verify', token, { email, code: wrong }));
    expect(error).toMatchObject({ kind: 'code_invalid', status: 400 });
    expect(error.message).toMatch(/wrong or has expired/);
    const right = await post(withEmail, '/v1/account/verify', token, { email, code });
    expect(right.status).toBe(200);
    expect(await right.json()).toMatchObject({ email, linked: true });
  });

  it('400 invalid_request: not an email address', async () => {
    const { token } = await createUser(withEmail.baseUrl);
    const error = await serviceError(await post(withEmail, '/v1/account/email', token, { email: 'not an address' }));
    expect(error).toMatchObject({ kind: 'invalid_request', status: 400 });
    expect(error.message).toMatch(/email/);
  });

  it('429 rate_limited, with the seconds of Retry-After: more codes for one address than the hour allows', async () => {
    const email = 'many-codes@example.test';
    const { token } = await createUser(withEmail.baseUrl);
    let response: Response;
    let sent = 0;
    for (;;) {
      response = await post(withEmail, '/v1/account/email', token, { email });
      if (response.status !== 202) break;
      await response.arrayBuffer();
      if (++sent > 50) throw new Error('never rate limited');
    }
    expect(sent).toBeGreaterThan(0);
    expect(capture.countTo(email)).toBe(sent);
    const seconds = Number(response.headers.get('retry-after'));
    const error = await serviceError(response);
    expect(error).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterSeconds: seconds });
    expect(seconds).toBeGreaterThan(0);
    expect(error.message).toMatch(/^Too many attempts\. Try again in \d+ (second|minute)s?\.$/);
  });

  it('404 unknown_feature: a quota the service does not have', async () => {
    const { token } = await createUser(withEmail.baseUrl);
    const error = await serviceError(await post(withEmail, '/v1/usage/summarize', token, {}));
    expect(error).toMatchObject({ kind: 'unknown_feature', status: 404 });
    expect(error.message).toMatch(/USAGE_LIMITS/);
  });

  it('any other answer is a service_error naming the status', async () => {
    const { token } = await createUser(withEmail.baseUrl);
    const notFound = await serviceError(await post(withEmail, '/v1/account/nothing-here', token, {}));
    expect(notFound).toMatchObject({ kind: 'service_error', status: 404 });
    expect(notFound.message).toContain('404');
  });

  it('crosses from the background to a page as data, and comes back the same typed error', () => {
    const error = new BillingError('rate_limited', 'Too many attempts. Try again in 2 minutes.', 429, 120);
    const data = JSON.parse(JSON.stringify(error.toData())); // as chrome.runtime messages carry it
    const back = BillingError.fromData(data);
    expect(back).toBeInstanceOf(BillingError);
    expect(back).toMatchObject({ kind: 'rate_limited', message: error.message, status: 429, retryAfterSeconds: 120 });
  });
});
