import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/databases.js';
import { createUser, getEntitlement, premiumPing } from '../helpers/users.js';
import {
  buy,
  cancel,
  EMAIL_FROM,
  type EmailSource,
  expectNothingSecretLogged,
  lastMessageTo,
  newClientIp,
  newEmail,
  receiveCode,
  requestCode,
  restore,
  signOut,
  typed,
  useAccountService,
  verifyCode,
} from './restore-helpers.js';

/**
 * "Restore a purchase on any device": a purchase made on one install is found from the email
 * Stripe has for its customer; another install proves that inbox with an emailed code and from
 * then on acts for that account.
 */
describe.each(BACKENDS)('restore a purchase by emailed code on $name', (backend) => {
  const context = useAccountService(backend);
  const base = () => context.svc.baseUrl;

  it("bought on install A, restored on install B: B is premium as A's account; A's cancellation ends it on both", async () => {
    const ip = newClientIp();
    const [a, b] = [await createUser(base()), await createUser(base())];
    const email = newEmail(context);
    // Stripe has the address as the buyer typed it; B types it differently again.
    const purchase = await buy(context.svc, a.userId, typed(email));
    expect(await getEntitlement(base(), b.token)).toMatchObject({ userId: b.userId, premium: false });

    expect(await restore(context, b.token, email.toUpperCase(), ip)).toEqual({ userId: a.userId, email, linked: true });
    const message = lastMessageTo(context, email)!;
    expect(message.from).toBe(EMAIL_FROM);
    expect(message.to).toEqual([email]);
    expect(await getEntitlement(base(), b.token)).toMatchObject({ userId: a.userId, premium: true, status: 'active' });
    expect(await premiumPing(base(), b.token)).toBe(200);
    expect(await getEntitlement(base(), a.token)).toMatchObject({ userId: a.userId, premium: true });

    await cancel(context.svc, purchase);
    for (const user of [a, b]) {
      expect(await getEntitlement(base(), user.token)).toMatchObject({ userId: a.userId, premium: false, reason: 'canceled' });
      expect(await premiumPing(base(), user.token)).toBe(402);
    }
  });

  it.each<EmailSource>(['customer.created', 'customer.updated', 'checkout.session.completed'])(
    'an address Stripe stated only in %s finds the buyer',
    async (source) => {
      const [a, b] = [await createUser(base()), await createUser(base())];
      const email = newEmail(context);
      await buy(context.svc, a.userId, typed(email), [source]);
      expect(await restore(context, b.token, email, newClientIp())).toMatchObject({ userId: a.userId, linked: true });
      expect(await getEntitlement(base(), b.token)).toMatchObject({ userId: a.userId, premium: true });
    },
  );

  it('an address nobody bought with gets the same 202, a message is still sent, and its code makes the install its own account', async () => {
    const ip = newClientIp();
    const [buyer, c] = [await createUser(base()), await createUser(base())];
    const [known, unknown] = [newEmail(context), newEmail(context, 'stranger')];
    await buy(context.svc, buyer.userId, known);
    const answers = [await requestCode(context, c.token, known, ip), await requestCode(context, c.token, unknown, ip)];
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[0]).toMatchObject({ status: 202, body: { sent: true } });

    expect(await restore(context, c.token, unknown, ip)).toEqual({ userId: c.userId, email: unknown, linked: true });
    expect(await getEntitlement(base(), c.token)).toMatchObject({ userId: c.userId, premium: false, reason: 'no_subscription' });
  });

  it('an address verified before stays with that account, even when a Stripe customer with it appears later', async () => {
    const ip = newClientIp();
    const [c, d, x] = [await createUser(base()), await createUser(base()), await createUser(base())];
    const email = newEmail(context);
    expect(await restore(context, c.token, email, ip)).toMatchObject({ userId: c.userId });
    await buy(context.svc, x.userId, email);
    expect(await restore(context, d.token, email, ip)).toMatchObject({ userId: c.userId });
    expect(await getEntitlement(base(), d.token)).toMatchObject({ userId: c.userId, premium: false });
    expect(await getEntitlement(base(), x.token)).toMatchObject({ userId: x.userId, premium: true });
  });

  it('two installs verifying one new address at the same moment end on one account (5 rounds)', async () => {
    for (let round = 0; round < 5; round++) {
      const ip = newClientIp();
      const [c, d] = [await createUser(base()), await createUser(base())];
      const email = newEmail(context, 'shared');
      const codes = [await receiveCode(context, c.token, email, ip), await receiveCode(context, d.token, email, ip)];
      const answers = await Promise.all([c, d].map((user, i) => verifyCode(context, user.token, email, codes[i]!, ip)));
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
      const accountId = answers[0]!.body.userId;
      expect([c.userId, d.userId]).toContain(accountId);
      expect(answers[1]!.body.userId).toBe(accountId);
      for (const user of [c, d]) expect((await getEntitlement(base(), user.token)).userId).toBe(accountId);
    }
  });

  it('a merge where both users have subscriptions: premium while either grants it, neither record lost, both count', async () => {
    const ip = newClientIp();
    const [a, b] = [await createUser(base()), await createUser(base())];
    const email = newEmail(context);
    const bought = { a: await buy(context.svc, a.userId, email), b: await buy(context.svc, b.userId, null) };
    expect(await restore(context, b.token, email, ip)).toMatchObject({ userId: a.userId });
    const subscriptions = async () =>
      context.svc.store.db
        .selectFrom('subscriptions')
        .select(['id', 'status'])
        .where('id', 'in', [bought.a.subscription, bought.b.subscription])
        .orderBy('id')
        .execute();
    expect((await subscriptions()).map((s) => s.status)).toEqual(['active', 'active']);
    for (const user of [a, b]) expect(await getEntitlement(base(), user.token)).toMatchObject({ userId: a.userId, premium: true });

    // A's own subscription ends: B's, which B's user kept, still grants the account.
    await cancel(context.svc, bought.a);
    for (const user of [a, b])
      expect(await getEntitlement(base(), user.token)).toMatchObject({ userId: a.userId, premium: true, status: 'active' });
    expect(await subscriptions()).toHaveLength(2);
    await cancel(context.svc, bought.b);
    for (const user of [a, b]) expect(await getEntitlement(base(), user.token)).toMatchObject({ userId: a.userId, premium: false });
    expect((await subscriptions()).map((s) => s.status)).toEqual(['canceled', 'canceled']);
  });

  it('sign-out: the token then answers for a fresh user, not premium; the account keeps its subscriptions', async () => {
    const ip = newClientIp();
    const [a, b] = [await createUser(base()), await createUser(base())];
    const email = newEmail(context);
    await buy(context.svc, a.userId, email);
    await restore(context, b.token, email, ip);
    expect(await getEntitlement(base(), b.token)).toMatchObject({ userId: a.userId, premium: true });

    const out = await signOut(context, b.token, ip);
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ userId: expect.stringMatching(/^usr_/), linked: false });
    expect([a.userId, b.userId]).not.toContain(out.body.userId);
    expect(await getEntitlement(base(), b.token)).toMatchObject({ userId: out.body.userId, premium: false, reason: 'no_subscription' });
    expect(await premiumPing(base(), b.token)).toBe(402);
    expect(await getEntitlement(base(), a.token)).toMatchObject({ userId: a.userId, premium: true });

    // Signing out is not a lock-out: the same inbox brings the install back.
    expect(await restore(context, b.token, email, ip)).toMatchObject({ userId: a.userId });
    expect(await getEntitlement(base(), b.token)).toMatchObject({ userId: a.userId, premium: true });
  });

  it('sign-out of an install that never verified an email: 409 not_linked, and the token keeps its user and its purchase', async () => {
    const a = await createUser(base());
    await buy(context.svc, a.userId, newEmail(context));
    const out = await signOut(context, a.token, newClientIp());
    expect([out.status, out.body?.error]).toEqual([409, 'not_linked']);
    expect(await getEntitlement(base(), a.token)).toMatchObject({ userId: a.userId, premium: true });
  });

  it('an install that is its own account by its email signs out, and the email finds its purchase again', async () => {
    const ip = newClientIp();
    const [a, b] = [await createUser(base()), await createUser(base())];
    const email = newEmail(context);
    await buy(context.svc, a.userId, null);
    expect(await restore(context, a.token, email, ip)).toMatchObject({ userId: a.userId });
    const out = await signOut(context, a.token, ip);
    expect(out.status).toBe(200);
    expect(await getEntitlement(base(), a.token)).toMatchObject({ userId: out.body.userId, premium: false });
    expect(await restore(context, b.token, email, ip)).toMatchObject({ userId: a.userId });
    expect(await getEntitlement(base(), b.token)).toMatchObject({ userId: a.userId, premium: true });
  });

  it('codes are stored only as hashes', async () => {
    const user = await createUser(base());
    const email = newEmail(context);
    const code = await receiveCode(context, user.token, email, newClientIp());
    const rows = await context.svc.store.db.selectFrom('email_codes').selectAll().execute();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(Object.values(row).map(String)).not.toContain(code);
  });

  it('no log line holds a code or a whole address', () => {
    expect(context.codes.length).toBeGreaterThan(10);
    expectNothingSecretLogged(context);
  });
});
