import type { Kysely } from 'kysely';
import { type Database, inWriteTransaction, type Store } from '../db/index.js';
import type { Install } from '../users/index.js';
import { accountForEmail, CODE_LIFETIME_MS, type CodeDecision, decideCode, decideMerge } from './decide.js';
import { hashCode } from './email.js';

/** Stores the install's new code for the address; it replaces (voids) the one before. */
export async function storeCode(store: Store, email: string, userId: string, code: string, now: number): Promise<void> {
  const row = { email, user_id: userId, code_hash: hashCode(email, userId, code), expires_at: now + CODE_LIFETIME_MS, failed_attempts: 0 };
  await store.db
    .insertInto('email_codes')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['email', 'user_id']).doUpdateSet({ code_hash: row.code_hash, expires_at: row.expires_at, failed_attempts: 0 }),
    )
    .execute();
}

export type VerifyResult =
  | { verified: false; reason: Exclude<CodeDecision, { valid: true }>['reason'] }
  | { verified: true; accountId: string; because: string };

/**
 * Checks the code and, when it opens, uses it up and joins the install to the email's account, in
 * one transaction: of two installs verifying one new address at once, the first to store it owns it
 * and the other joins that account.
 */
export function verifyCode(store: Store, install: Install, email: string, code: string, now: number): Promise<VerifyResult> {
  return inWriteTransaction(store, async (db) => {
    const row = await db
      .selectFrom('email_codes')
      .selectAll()
      .where('email', '=', email)
      .where('user_id', '=', install.userId)
      // Locked (SQLite's write transaction is serial already): concurrent guesses count one by one, and a code opens once.
      .$if(store.dialect === 'postgres', (qb) => qb.forUpdate())
      .executeTakeFirst();
    const stored = row ? { codeHash: row.code_hash, expiresAt: row.expires_at, failedAttempts: row.failed_attempts } : null;
    const decision = decideCode(stored, hashCode(email, install.userId, code), now);
    if (!decision.valid) {
      if (decision.reason === 'wrong_code') {
        await db
          .updateTable('email_codes')
          .set((eb) => ({ failed_attempts: eb('failed_attempts', '+', 1) }))
          .where('email', '=', email)
          .where('user_id', '=', install.userId)
          .execute();
      }
      return { verified: false, reason: decision.reason };
    }
    await db.deleteFrom('email_codes').where('email', '=', email).where('user_id', '=', install.userId).execute();
    const verified = await verifiedOwner(db, email);
    // The customer's owner matters only for an address no account verified yet.
    const chosen = accountForEmail({ verified, customer: verified === null ? await customerOwner(db, email) : null }, install.accountId);
    if (verified === null) {
      // First verification wins: a concurrent one that stored the address first owns it.
      await db
        .insertInto('account_emails')
        .values({ email, user_id: chosen.accountId, verified_at: now })
        .onConflict((oc) => oc.column('email').doNothing())
        .execute();
    }
    const accountId = verified ?? (await verifiedOwner(db, email))!;
    await join(db, decideMerge(install, accountId));
    return { verified: true, accountId, because: chosen.because };
  });
}

async function verifiedOwner(db: Kysely<Database>, email: string): Promise<string | null> {
  const row = await db.selectFrom('account_emails').select('user_id').where('email', '=', email).executeTakeFirst();
  return row ? accountOf(db, row.user_id) : null;
}

/** The account of the user owning the most recently updated customer with that email. */
async function customerOwner(db: Kysely<Database>, email: string): Promise<string | null> {
  const row = await db
    .selectFrom('customers')
    .select('user_id')
    .where('email', '=', email)
    .where('user_id', 'is not', null)
    .orderBy('updated_at', 'desc')
    .executeTakeFirst();
  return row?.user_id ? accountOf(db, row.user_id) : null;
}

/** The account a user acts for: its `account_id`, else itself (a user named by Stripe may not be stored yet). */
async function accountOf(db: Kysely<Database>, userId: string): Promise<string> {
  const row = await db.selectFrom('users').select('account_id').where('id', '=', userId).executeTakeFirst();
  return row?.account_id ?? userId;
}

async function join(db: Kysely<Database>, plan: ReturnType<typeof decideMerge>): Promise<void> {
  if (plan.move === 'nothing') return;
  // The account's own user carries its id too, so that a check finds all its users by one index.
  await db.updateTable('users').set({ account_id: plan.to }).where('id', '=', plan.to).execute();
  if (plan.move === 'user') {
    await db.updateTable('users').set({ account_id: plan.to }).where('id', '=', plan.userId).execute();
    return;
  }
  await db
    .updateTable('users')
    .set({ account_id: plan.to })
    .where((eb) => eb.or([eb('id', '=', plan.from), eb('account_id', '=', plan.from)]))
    .execute();
  await db.updateTable('account_emails').set({ user_id: plan.to }).where('user_id', '=', plan.from).execute();
}

/**
 * Sign-out: the token moves to a fresh user; the one it had stays in its account, with all it owns,
 * found again by the account's email. An install in no account (it never verified an email) is not
 * signed out: its user, and what it bought, would be left without a token or an email to find it by.
 */
export async function detachInstall(
  store: Store,
  install: Install,
  newUserId: string,
  now: number,
): Promise<'detached' | 'not_linked' | 'moved'> {
  return inWriteTransaction(store, async (db) => {
    const inAccount =
      install.accountId !== install.userId ||
      (await db.selectFrom('account_emails').select('email').where('user_id', '=', install.userId).executeTakeFirst()) !== undefined;
    if (!inAccount) return 'not_linked';
    // Locked: of two sign-outs at once, the second finds the token gone already.
    const { token_hash } = await db
      .selectFrom('users')
      .select('token_hash')
      .where('id', '=', install.userId)
      .$if(store.dialect === 'postgres', (qb) => qb.forUpdate())
      .executeTakeFirstOrThrow();
    if (token_hash === null) return 'moved';
    await db.updateTable('users').set({ token_hash: null }).where('id', '=', install.userId).execute();
    await db.insertInto('users').values({ id: newUserId, token_hash, created_at: now }).execute();
    return 'detached';
  });
}
