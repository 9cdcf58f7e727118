import { describe, expect, it } from 'vitest';
import {
  answerWhenUnreachable,
  type CachedAnswer,
  hasChanged,
  isFresh,
  TOKEN_REFRESH_MARGIN_MS,
  tokenState,
} from '../../extension/client/cache.js';

const HOUR = 3_600_000;
const NOW = 1_800_000_000_000;
const premium: CachedAnswer['answer'] = {
  userId: 'usr_1',
  premium: true,
  reason: 'active',
  status: 'active',
  priceId: 'price_pro',
  productId: 'prod_1',
  features: ['export'],
  currentPeriodEnd: '2027-01-01T00:00:00.000Z',
  cancelAtPeriodEnd: false,
  graceUntil: null,
  trialEndsAt: null,
  usage: {},
};

describe('the extension client cache', () => {
  it.each([
    ['no cache', undefined, 60_000, false],
    ['younger than maxAge', { answer: premium, fetchedAt: NOW - 59_000 }, 60_000, true],
    ['as old as maxAge', { answer: premium, fetchedAt: NOW - 60_000 }, 60_000, false],
    ['maxAge 0 always asks', { answer: premium, fetchedAt: NOW }, 0, false],
    ['from the future (clock moved back)', { answer: premium, fetchedAt: NOW + 5000 }, 60_000, false],
  ])('isFresh: %s', (_name, cached, maxAgeMs, fresh) => {
    expect(isFresh(cached, NOW, maxAgeMs)).toBe(fresh);
  });

  it.each([
    ['within the grace window: the last answer, marked stale', { answer: premium, fetchedAt: NOW - 23 * HOUR }, true, 'active'],
    ['past the grace window: not premium', { answer: premium, fetchedAt: NOW - 25 * HOUR }, false, 'service_unreachable'],
    ['never answered: not premium', undefined, false, 'service_unreachable'],
  ])('service unreachable, %s', (_name, cached, isPremium, reason) => {
    const answer = answerWhenUnreachable(cached, NOW, 24 * HOUR, 'usr_1');
    expect(answer).toMatchObject({ premium: isPremium, reason, stale: true, userId: 'usr_1' });
    expect(answer.checkedAt).toBe(cached?.fetchedAt ?? null);
  });

  it('hasChanged ignores only the check time', () => {
    const a = { ...premium, stale: false, checkedAt: 1 };
    expect(hasChanged(undefined, a)).toBe(true);
    expect(hasChanged(a, { ...a, checkedAt: 2 })).toBe(false);
    expect(hasChanged(a, { ...a, stale: true })).toBe(true);
    expect(hasChanged(a, { ...a, priceId: 'price_basic' })).toBe(true);
  });
});

/** A token signed nowhere (the client does not verify it), with these times. */
function unsignedToken(iat: number, exp: number): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'EdDSA', kid: 'k', typ: 'JWT' })}.${part({ sub: 'usr_ü', iat, exp })}.c2ln`;
}

describe('when the client renews the entitlement token (extension/client/cache.ts)', () => {
  const kept = (lifetimeSeconds: number, ageMs: number): CachedAnswer =>
    ({ answer: {}, fetchedAt: NOW - ageMs, token: unsignedToken(1_000, 1_000 + lifetimeSeconds) }) as CachedAnswer;

  it.each([
    ['no answer', undefined, 'expired'],
    ['an answer without a token (an older service)', { answer: {}, fetchedAt: NOW } as CachedAnswer, 'expired'],
    ['a token that is not a JWS', { answer: {}, fetchedAt: NOW, token: 'opaque' } as CachedAnswer, 'expired'],
    ['1 h token, 58 min old', kept(3600, 3540_000 - 1), 'good'],
    ['1 h token, 59 min old: within the 60 s margin', kept(3600, 3540_000), 'renew'],
    ['1 h token, 1 h old', kept(3600, 3600_000), 'expired'],
    ['30 s token, 26 s old: the margin is a tenth of it', kept(30, 26_000), 'good'],
    ['30 s token, 27 s old', kept(30, 27_000), 'renew'],
    ['received in the future (the clock moved back)', kept(3600, -5000), 'renew'],
  ])('%s', (_name, cached, state) => {
    expect(tokenState(cached, NOW)).toBe(state);
  });

  it("counts the lifetime from when the answer arrived, not against this machine's clock", () => {
    // iat and exp in 1970: a client whose clock disagrees with the service's by decades still sees a fresh token.
    expect(tokenState(kept(3600, 1000), NOW)).toBe('good');
    expect(TOKEN_REFRESH_MARGIN_MS).toBe(60_000);
  });
});
