import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { GrantingPlan } from '../../src/entitlements/index.js';
import { decideConsume, limitFor, stateOf, windowOf } from '../../src/usage/decide.js';

const PLANS = {
  free: { limit: 5, per: 'day' as const },
  price_basic: { limit: 500, per: 'month' as const },
  prod_pro: { limit: null, per: null },
};
const plan = (priceId: string | null, productId: string | null, periodStart: number | null = null, periodEnd: number | null = null) =>
  ({ priceId, productId, periodStart, periodEnd }) satisfies GrantingPlan;
const ms = (iso: string) => Date.parse(iso);
const seconds = (iso: string) => Date.parse(iso) / 1000;

describe('limitFor: which plan a user is on for a feature', () => {
  it.each([
    { name: 'not premium: free', granting: null, want: { plan: 'free', limit: 5, per: 'day' } },
    { name: 'the price first', granting: plan('price_basic', 'prod_pro'), want: { plan: 'price_basic', limit: 500, per: 'month' } },
    { name: 'then the product', granting: plan('price_pro_yearly', 'prod_pro'), want: { plan: 'prod_pro', limit: null, per: null } },
    { name: 'then free', granting: plan('price_other', 'prod_other'), want: { plan: 'free', limit: 5, per: 'day' } },
    { name: 'a trial: its price, no product', granting: plan('price_basic', null), want: { plan: 'price_basic', limit: 500 } },
  ])('$name', ({ granting, want }) => {
    expect(limitFor(PLANS, granting)).toMatchObject(want);
  });

  it('a feature without a free entry cannot be used on the free plan', () => {
    expect(limitFor({ price_basic: PLANS.price_basic }, null)).toEqual({ plan: 'free', limit: 0, per: null });
  });
});

describe('windowOf: the period a use counts in (UTC)', () => {
  it.each([
    { name: 'a day', per: 'day', now: '2026-12-03T14:22:00Z', start: '2026-12-03T00:00:00Z', end: '2026-12-04T00:00:00Z' },
    {
      name: 'the last millisecond of a day',
      per: 'day',
      now: '2026-12-03T23:59:59.999Z',
      start: '2026-12-03T00:00:00Z',
      end: '2026-12-04T00:00:00Z',
    },
    { name: 'the first of the next', per: 'day', now: '2026-12-04T00:00:00Z', start: '2026-12-04T00:00:00Z', end: '2026-12-05T00:00:00Z' },
    { name: 'a month', per: 'month', now: '2026-12-31T23:59:59Z', start: '2026-12-01T00:00:00Z', end: '2027-01-01T00:00:00Z' },
    {
      name: 'February of a leap year',
      per: 'month',
      now: '2028-02-29T12:00:00Z',
      start: '2028-02-01T00:00:00Z',
      end: '2028-03-01T00:00:00Z',
    },
    { name: 'the leap day itself', per: 'day', now: '2028-02-29T12:00:00Z', start: '2028-02-29T00:00:00Z', end: '2028-03-01T00:00:00Z' },
  ] as const)('$name', ({ per, now, start, end }) => {
    expect(windowOf(per, null, ms(now))).toEqual({ start: ms(start), end: ms(end), per });
  });

  it('lifetime never resets', () => {
    expect(windowOf('lifetime', null, ms('2026-12-03T00:00:00Z'))).toEqual({ start: 0, end: null, per: 'lifetime' });
  });

  const period = plan('price_basic', 'prod_basic', seconds('2026-11-17T09:30:00Z'), seconds('2026-12-17T09:30:00Z'));
  it.each([
    { name: 'anchored at the period start', now: '2026-12-03T00:00:00Z', start: '2026-11-17T09:30:00Z', end: '2026-12-17T09:30:00Z' },
    { name: 'its first second', now: '2026-11-17T09:30:00Z', start: '2026-11-17T09:30:00Z', end: '2026-12-17T09:30:00Z' },
    {
      name: 'past its end, before the renewal arrived: rolls on',
      now: '2026-12-17T09:30:01Z',
      start: '2026-12-17T09:30:00Z',
      end: '2027-01-16T09:30:00Z',
    },
  ])('billing period: $name', ({ now, start, end }) => {
    expect(windowOf('billing_period', period, ms(now))).toEqual({ start: ms(start), end: ms(end), per: 'billing_period' });
  });

  it('billing period on free (no period known) is the calendar month', () => {
    expect(windowOf('billing_period', null, ms('2026-12-03T00:00:00Z'))).toEqual({
      start: ms('2026-12-01T00:00:00Z'),
      end: ms('2027-01-01T00:00:00Z'),
      per: 'month',
    });
  });
});

describe('decideConsume and stateOf', () => {
  const day = windowOf('day', null, ms('2026-12-03T10:00:00Z'));
  const free = limitFor(PLANS, null);
  it.each([
    { used: 0, amount: 1, allowed: true, after: 1 },
    { used: 4, amount: 1, allowed: true, after: 5 },
    { used: 5, amount: 1, allowed: false, after: 5 },
    { used: 3, amount: 3, allowed: false, after: 3 },
    { used: 3, amount: 2, allowed: true, after: 5 },
  ])('free 5/day: $used used, $amount more → allowed=$allowed', ({ used, amount, allowed, after }) => {
    expect(decideConsume(used, amount, free)).toEqual({ allowed, usedAfter: after });
  });

  it('unlimited takes anything, and says null for the limit, what remains and the reset', () => {
    const unlimited = limitFor(PLANS, plan('price_x', 'prod_pro'));
    expect(decideConsume(1_000_000, 5, unlimited)).toEqual({ allowed: true, usedAfter: 1_000_005 });
    expect(stateOf(7, unlimited, windowOf(unlimited.per, null, 0))).toEqual({
      used: 7,
      limit: null,
      remaining: null,
      resetsAt: null,
      per: null,
    });
  });

  it('a plan change mid-period keeps what was used: the same uses count against the new limit', () => {
    const basic = limitFor(PLANS, plan('price_basic', 'prod_basic'));
    expect(stateOf(5, free, day)).toEqual({ used: 5, limit: 5, remaining: 0, resetsAt: '2026-12-04T00:00:00.000Z', per: 'day' });
    expect(decideConsume(5, 1, free).allowed).toBe(false);
    expect(decideConsume(5, 1, basic)).toEqual({ allowed: true, usedAfter: 6 });
    expect(stateOf(5, basic, windowOf(basic.per, null, ms('2026-12-03T10:00:00Z')))).toMatchObject({ limit: 500, remaining: 495 });
  });
});

describe('USAGE_LIMITS', () => {
  // Local mode writes its generated secret and key there.
  const dataDir = mkdtempSync(join(tmpdir(), 'usage-config-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  const load = (env: Record<string, string>) => () => loadConfig({ DATA_DIR: dataDir, ...env });
  it('reads the example of the contract', () => {
    const config = load({ USAGE_LIMITS: JSON.stringify({ summarize: PLANS }) })();
    expect(config.usageLimits).toEqual({ summarize: PLANS });
  });

  it.each([
    [
      { summarize: { free: { limit: 5, per: 'week' } } },
      'USAGE_LIMITS: summarize.free.per: must be one of day, month, billing_period, lifetime',
    ],
    [{ summarize: { free: { limit: 5 } } }, 'USAGE_LIMITS: summarize.free.per: a limit needs "per"'],
    [{ summarize: { free: { limit: -1, per: 'day' } } }, 'USAGE_LIMITS: summarize.free.limit: must be at least 0'],
    [{ summarize: { free: { limit: 1.5, per: 'day' } } }, 'USAGE_LIMITS: summarize.free.limit: must be a whole number'],
    [{ summarize: { free: { limit: 5, per: 'day', extra: 1 } } }, 'USAGE_LIMITS: summarize.free'],
  ])('%j is refused with the path of the wrong field', (value, message) => {
    expect(load({ USAGE_LIMITS: JSON.stringify(value) })).toThrow(message);
  });

  it('is JSON, or a readable file, not both', () => {
    expect(load({ USAGE_LIMITS: '{"summarize":' })).toThrow('USAGE_LIMITS: is not valid JSON');
    expect(load({ USAGE_LIMITS_FILE: '/nonexistent/limits.json' })).toThrow(
      'USAGE_LIMITS_FILE: cannot read /nonexistent/limits.json (ENOENT)',
    );
    expect(load({ USAGE_LIMITS: '{}', USAGE_LIMITS_FILE: '/x' })).toThrow('set one of them, not both');
  });

  it('trials need their plan', () => {
    expect(load({ TRIAL_DAYS: '7' })).toThrow('TRIAL_PLAN: required with TRIAL_DAYS');
    expect(load({ TRIAL_DAYS: '7', TRIAL_PLAN: 'price_pro', TRIAL_REQUIRES_EMAIL: 'true' })().trial).toEqual({
      days: 7,
      priceId: 'price_pro',
      requiresEmail: true,
    });
  });
});
