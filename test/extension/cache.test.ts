import { describe, expect, it } from 'vitest';
import { answerWhenUnreachable, type CachedAnswer, hasChanged, isFresh } from '../../extension/client/cache.js';

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
