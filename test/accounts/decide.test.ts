import { describe, expect, it } from 'vitest';
import { accountForEmail, CODE_LIFETIME_MS, decideCode, decideMerge, MAX_WRONG_CODES } from '../../src/accounts/decide.js';

const NOW = 1_800_000_000_000;
const stored = (overrides: Partial<{ codeHash: string; expiresAt: number; failedAttempts: number }> = {}) => ({
  codeHash: 'right',
  expiresAt: NOW + CODE_LIFETIME_MS,
  failedAttempts: 0,
  ...overrides,
});

describe('decideCode: whether a code opens', () => {
  it.each<[string, ReturnType<typeof stored> | null, string, number, ReturnType<typeof decideCode>]>([
    ['the right code, in time', stored(), 'right', NOW, { valid: true }],
    ['no code was sent (or it was used)', null, 'right', NOW, { valid: false, reason: 'no_code' }],
    ['a wrong code', stored(), 'wrong', NOW, { valid: false, reason: 'wrong_code' }],
    ['the right code at its expiry', stored(), 'right', NOW + CODE_LIFETIME_MS, { valid: false, reason: 'expired' }],
    ['the right code a moment before it expires', stored(), 'right', NOW + CODE_LIFETIME_MS - 1, { valid: true }],
    ['the right code after 4 wrong ones', stored({ failedAttempts: MAX_WRONG_CODES - 1 }), 'right', NOW, { valid: true }],
    [
      'the right code after 5 wrong ones: void',
      stored({ failedAttempts: MAX_WRONG_CODES }),
      'right',
      NOW,
      { valid: false, reason: 'too_many_attempts' },
    ],
    [
      'an expired code with a wrong guess is expired, not wrong (no failure counted)',
      stored({ expiresAt: NOW }),
      'wrong',
      NOW,
      { valid: false, reason: 'expired' },
    ],
  ])('%s', (_name, code, hash, now, expected) => {
    expect(decideCode(code, hash, now)).toEqual(expected);
  });
});

describe('accountForEmail: which account an email belongs to', () => {
  it.each<[string, { verified: string | null; customer: string | null }, ReturnType<typeof accountForEmail>]>([
    ['the account that verified it before, first', { verified: 'acc_v', customer: 'acc_c' }, { accountId: 'acc_v', because: 'verified' }],
    [
      'else the account owning a Stripe customer with it',
      { verified: null, customer: 'acc_c' },
      { accountId: 'acc_c', because: 'customer' },
    ],
    ['else the account the install acts for', { verified: null, customer: null }, { accountId: 'acc_install', because: 'install' }],
  ])('%s', (_name, owners, expected) => {
    expect(accountForEmail(owners, 'acc_install')).toEqual(expected);
  });
});

describe('decideMerge: who moves when an install joins an account', () => {
  it.each<[string, { userId: string; accountId: string }, string, ReturnType<typeof decideMerge>]>([
    ['an install already in the account: nothing moves', { userId: 'usr_b', accountId: 'acc_a' }, 'acc_a', { move: 'nothing' }],
    [
      'an install that is its own account (maybe with others): its whole account joins',
      { userId: 'usr_b', accountId: 'usr_b' },
      'acc_a',
      { move: 'account', from: 'usr_b', to: 'acc_a' },
    ],
    [
      'an install acting for another account: only its user moves',
      { userId: 'usr_b', accountId: 'acc_c' },
      'acc_a',
      { move: 'user', userId: 'usr_b', to: 'acc_a' },
    ],
    [
      'an install verifying an email that becomes its own: nothing moves',
      { userId: 'usr_b', accountId: 'usr_b' },
      'usr_b',
      { move: 'nothing' },
    ],
  ])('%s', (_name, install, accountId, expected) => {
    expect(decideMerge(install, accountId)).toEqual(expected);
  });
});
