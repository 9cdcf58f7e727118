import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/databases.js';
import { useService } from '../helpers/service.js';
import { createUser, getEntitlement } from '../helpers/users.js';

/** Without SMTP_URL the service cannot send codes: both routes say so, and change nothing. */
describe.each(BACKENDS)('restore by email without SMTP_URL on $name', (backend) => {
  const context = useService(backend);

  it.each([
    ['/v1/account/email', { email: 'someone@restore.example' }],
    ['/v1/account/verify', { email: 'someone@restore.example', code: '123456' }],
  ])('POST %s: 503 email_not_configured', async (path, body) => {
    const user = await createUser(context.svc.baseUrl);
    const response = await fetch(`${context.svc.baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: 'email_not_configured', message: expect.any(String) });
    expect((await getEntitlement(context.svc.baseUrl, user.token)).userId).toBe(user.userId);
    expect(await context.svc.store.db.selectFrom('email_codes').selectAll().execute()).toEqual([]);
  });
});
