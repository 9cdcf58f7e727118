import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/databases.js';
import { registerSecret } from '../helpers/log-scan.js';
import { createUser } from '../helpers/users.js';
import {
  type AccountContext,
  expectNothingSecretLogged,
  newClientIp,
  newEmail,
  requestCode,
  useAccountService,
} from './restore-helpers.js';

const SMTP_PASSWORD = 'smtp-password-of-the-restore-tests';
registerSecret('the password in SMTP_URL', SMTP_PASSWORD);

/** A message that did not go out: a clean JSON error, and neither the address nor SMTP_URL's password in any log line. */
async function expectUnsent(context: AccountContext, email: string): Promise<void> {
  const user = await createUser(context.svc.baseUrl);
  const answer = await requestCode(context, user.token, email, newClientIp());
  expect(answer.status, JSON.stringify(answer.body)).not.toBe(202);
  expect(typeof answer.body?.error).toBe('string');
  expect(context.smtp.countTo(email)).toBe(0);
  expect(JSON.stringify(context.svc.logs)).not.toContain(SMTP_PASSWORD);
  expectNothingSecretLogged(context);
}

/** When the mail does not go out, the answer is clean and the logs still hold no address and no SMTP password. */
describe.each(BACKENDS)('restore by email when sending fails, on $name', (backend) => {
  describe('SMTP_URL with a login the server refuses', () => {
    // smtp-server without an AUTH handler refuses every login.
    const context = useAccountService(backend, {}, (url) => url.replace('smtp://', `smtp://restore-user:${SMTP_PASSWORD}@`));

    it('nothing is sent, and the password reaches no log line', async () => {
      await expectUnsent(context, newEmail(context));
    });
  });

  describe('an SMTP server that refuses the recipient', () => {
    const context = useAccountService(backend, {}, undefined, (address) => address.startsWith('nobody.'));

    it('a mailbox the server refuses (550): 503 email_unavailable, nothing is sent, and the address reaches no log line', async () => {
      const email = newEmail(context, 'nobody');
      await expectUnsent(context, email);
      const user = await createUser(context.svc.baseUrl);
      expect((await requestCode(context, user.token, email, newClientIp())).body?.error).toBe('email_unavailable');
    });
  });

  describe('SMTP_URL naming a port nothing listens on', () => {
    const context = useAccountService(backend, {}, () => 'smtp://127.0.0.1:1');

    it('nothing is sent, and the address reaches no log line', async () => {
      await expectUnsent(context, newEmail(context));
    });
  });
});
