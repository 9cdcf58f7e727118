/**
 * Restore by emailed code, as pure decisions: whether a code may be used, which account an email
 * belongs to, and who moves when an install joins an account.
 */

/** Codes live 10 minutes; 5 wrong guesses void the code. */
export const CODE_LIFETIME_MS = 10 * 60_000;
export const MAX_WRONG_CODES = 5;

export interface StoredCode {
  codeHash: string;
  expiresAt: number;
  failedAttempts: number;
}

export type CodeDecision = { valid: true } | { valid: false; reason: 'no_code' | 'expired' | 'too_many_attempts' | 'wrong_code' };

/** Whether `codeHash` opens the install's stored code for the address now. Only `wrong_code` counts as a failed attempt. */
export function decideCode(stored: StoredCode | null, codeHash: string, now: number): CodeDecision {
  if (!stored) return { valid: false, reason: 'no_code' };
  if (now >= stored.expiresAt) return { valid: false, reason: 'expired' };
  if (stored.failedAttempts >= MAX_WRONG_CODES) return { valid: false, reason: 'too_many_attempts' };
  if (stored.codeHash !== codeHash) return { valid: false, reason: 'wrong_code' };
  return { valid: true };
}

/**
 * The account an email belongs to, in this order: the account that verified it before; else the
 * account of the user owning a Stripe customer with that email; else the account the verifying
 * install acts for (its own user, unless it joined one already).
 */
export function accountForEmail(
  owners: { verified: string | null; customer: string | null },
  installAccount: string,
): { accountId: string; because: 'verified' | 'customer' | 'install' } {
  if (owners.verified !== null) return { accountId: owners.verified, because: 'verified' };
  if (owners.customer !== null) return { accountId: owners.customer, because: 'customer' };
  return { accountId: installAccount, because: 'install' };
}

/**
 * Who acts for whom once an install joins `accountId`. Users keep their own customers,
 * subscriptions and history; only `account_id` moves, so nothing of theirs is lost. Every user of
 * an account with more than one carries its id, the account's own user too (store.ts `join`).
 * - Already in it: nothing moves.
 * - The install was its own account (maybe with other installs acting for it): that whole account,
 *   and the emails it verified, join the new one, so that no user ever acts for one that acts for another.
 * - The install acted for another account: only the install's user moves.
 */
export type MergePlan = { move: 'nothing' } | { move: 'account'; from: string; to: string } | { move: 'user'; userId: string; to: string };

export function decideMerge(install: { userId: string; accountId: string }, accountId: string): MergePlan {
  if (install.accountId === accountId) return { move: 'nothing' };
  if (install.accountId === install.userId) return { move: 'account', from: install.userId, to: accountId };
  return { move: 'user', userId: install.userId, to: accountId };
}
