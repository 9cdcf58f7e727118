import { describe, expect, it } from 'vitest';
import { accessOf, decideEntitlement, decideTrialStart, tokenExpiry } from '../../src/entitlements/decide.js';
import type { SubscriptionRecord } from '../../src/subscriptions/decide.js';
import { subscriptionRecord } from '../helpers/records.js';

const NOW = 1_800_000_000;
const HOUR = 3600;

function record(overrides: Partial<SubscriptionRecord>): SubscriptionRecord {
  return subscriptionRecord({
    currentPeriodStart: NOW - 10 * 86_400,
    currentPeriodEnd: NOW + 20 * 86_400,
    lastEventCreated: NOW - 100,
    ...overrides,
  });
}

describe('accessOf: whether one record grants access', () => {
  it.each([
    { status: 'active', extra: {}, grants: true, reason: 'active' },
    { status: 'trialing', extra: {}, grants: true, reason: 'trialing' },
    { status: 'active', extra: { cancelAtPeriodEnd: true }, grants: true, reason: 'active' },
    { status: 'past_due', extra: { pastDueSince: NOW - HOUR }, grants: true, reason: 'past_due_in_grace' },
    { status: 'past_due', extra: { pastDueSince: NOW - 72 * HOUR + 1 }, grants: true, reason: 'past_due_in_grace' },
    { status: 'past_due', extra: { pastDueSince: NOW - 72 * HOUR }, grants: false, reason: 'past_due_grace_expired' },
    { status: 'past_due', extra: { pastDueSince: NOW - 30 * 86_400 }, grants: false, reason: 'past_due_grace_expired' },
    { status: 'canceled', extra: {}, grants: false, reason: 'canceled' },
    { status: 'unpaid', extra: {}, grants: false, reason: 'unpaid' },
    { status: 'incomplete', extra: {}, grants: false, reason: 'incomplete' },
    { status: 'incomplete_expired', extra: {}, grants: false, reason: 'incomplete_expired' },
    { status: 'paused', extra: {}, grants: false, reason: 'paused' },
  ] as const)('$status $extra → grants=$grants ($reason)', ({ status, extra, grants, reason }) => {
    const access = accessOf(record({ status, ...extra }), NOW, 72);
    expect(access.grants).toBe(grants);
    expect(access.reason).toBe(reason);
  });

  it('grace is measured from pastDueSince with the configured hours', () => {
    const r = record({ status: 'past_due', pastDueSince: NOW - 5 * HOUR });
    expect(accessOf(r, NOW, 6)).toEqual({ grants: true, reason: 'past_due_in_grace', graceUntil: NOW + HOUR });
    expect(accessOf(r, NOW, 4)).toEqual({ grants: false, reason: 'past_due_grace_expired', graceUntil: NOW - HOUR });
    expect(accessOf(r, NOW, 0).grants).toBe(false);
  });
});

describe('decideEntitlement: the answer for a user', () => {
  const base = { customerFeatures: {}, priceFeatures: {}, trial: null, now: NOW, pastDueGraceHours: 72 };

  it('no subscription at all', () => {
    expect(decideEntitlement({ ...base, subscriptions: [] })).toEqual({
      accessEndsAt: null,
      plan: null,
      entitlement: {
        premium: false,
        reason: 'no_subscription',
        status: null,
        priceId: null,
        productId: null,
        features: [],
        currentPeriodEnd: null,
        cancelAtPeriodEnd: false,
        graceUntil: null,
        trialEndsAt: null,
      },
    });
  });

  it.each([
    {
      name: 'active beats trialing beats past_due in grace',
      subs: [
        record({ id: 'sub_t', status: 'trialing', currentPeriodEnd: NOW + 90 * 86_400 }),
        record({ id: 'sub_p', status: 'past_due', pastDueSince: NOW - HOUR, currentPeriodEnd: NOW + 99 * 86_400 }),
        record({ id: 'sub_a', status: 'active', priceId: 'price_a' }),
      ],
      premium: true,
      reason: 'active',
      priceId: 'price_a',
    },
    {
      name: 'trialing beats past_due in grace',
      subs: [
        record({ id: 'sub_p', status: 'past_due', pastDueSince: NOW - HOUR, priceId: 'price_p' }),
        record({ id: 'sub_t', status: 'trialing', priceId: 'price_t' }),
      ],
      premium: true,
      reason: 'trialing',
      priceId: 'price_t',
    },
    {
      name: 'between two active ones, the latest period end',
      subs: [
        record({ id: 'sub_1', priceId: 'price_early', currentPeriodEnd: NOW + 86_400 }),
        record({ id: 'sub_2', priceId: 'price_late', currentPeriodEnd: NOW + 9 * 86_400 }),
      ],
      premium: true,
      reason: 'active',
      priceId: 'price_late',
    },
    {
      name: 'a granting subscription beats a newer canceled one',
      subs: [
        record({ id: 'sub_c', status: 'canceled', priceId: 'price_c', lastEventCreated: NOW }),
        record({ id: 'sub_p', status: 'past_due', pastDueSince: NOW - HOUR, priceId: 'price_p', lastEventCreated: NOW - 5000 }),
      ],
      premium: true,
      reason: 'past_due_in_grace',
      priceId: 'price_p',
    },
    {
      name: 'nothing grants: the most recently changed one describes the answer',
      subs: [
        record({ id: 'sub_old', status: 'incomplete_expired', priceId: 'price_old', lastEventCreated: NOW - 9000 }),
        record({ id: 'sub_new', status: 'canceled', priceId: 'price_new', lastEventCreated: NOW - 10 }),
      ],
      premium: false,
      reason: 'canceled',
      priceId: 'price_new',
    },
    {
      name: 'past_due out of grace does not grant',
      subs: [record({ status: 'past_due', pastDueSince: NOW - 73 * HOUR })],
      premium: false,
      reason: 'past_due_grace_expired',
      priceId: 'price_basic',
    },
  ])('$name', ({ subs, premium, reason, priceId }) => {
    const answer = decideEntitlement({ ...base, subscriptions: subs }).entitlement;
    expect(answer.premium).toBe(premium);
    expect(answer.reason).toBe(reason);
    expect(answer.priceId).toBe(priceId);
  });

  it('describes the chosen subscription: period end, cancel at period end, grace end', () => {
    const answer = decideEntitlement({
      ...base,
      subscriptions: [record({ status: 'past_due', pastDueSince: NOW - HOUR, cancelAtPeriodEnd: true, currentPeriodEnd: NOW + 86_400 })],
    }).entitlement;
    expect(answer.status).toBe('past_due');
    expect(answer.currentPeriodEnd).toBe(new Date((NOW + 86_400) * 1000).toISOString());
    expect(answer.cancelAtPeriodEnd).toBe(true);
    expect(answer.graceUntil).toBe(new Date((NOW - HOUR + 72 * HOUR) * 1000).toISOString());
  });

  it('features: the entitlement summary wins over the price map; none unless premium', () => {
    const subs = [record({ priceId: 'price_pro' })];
    const priceFeatures = { price_pro: ['export', 'sync'] };
    expect(decideEntitlement({ ...base, subscriptions: subs, priceFeatures }).entitlement.features).toEqual(['export', 'sync']);
    expect(
      decideEntitlement({ ...base, subscriptions: subs, priceFeatures, customerFeatures: { cus_1: ['journeys'] } }).entitlement.features,
    ).toEqual(['journeys']);
    expect(
      decideEntitlement({ ...base, subscriptions: [record({ status: 'canceled', priceId: 'price_pro' })], priceFeatures }).entitlement
        .features,
    ).toEqual([]);
  });
});

describe('decideEntitlement: when the access granted ends', () => {
  const base = { customerFeatures: {}, priceFeatures: {}, trial: null, now: NOW, pastDueGraceHours: 72 };
  const graceEnd = NOW - HOUR + 72 * HOUR;
  it.each([
    { name: 'nothing grants', subs: [record({ status: 'canceled' })], end: null },
    { name: 'an active subscription renews: no known end', subs: [record({})], end: null },
    { name: 'past_due in grace: the grace end', subs: [record({ status: 'past_due', pastDueSince: NOW - HOUR })], end: graceEnd },
    { name: 'cancel_at set', subs: [record({ cancelAt: NOW + 600 })], end: NOW + 600 },
    { name: 'cancel at period end', subs: [record({ cancelAtPeriodEnd: true, currentPeriodEnd: NOW + 900 })], end: NOW + 900 },
    {
      name: 'in grace and cancel_at sooner: the sooner',
      subs: [record({ status: 'past_due', pastDueSince: NOW - HOUR, cancelAt: NOW + 60 })],
      end: NOW + 60,
    },
    {
      name: 'two ending: the later',
      subs: [record({ id: 'sub_a', cancelAt: NOW + 60 }), record({ id: 'sub_b', cancelAt: NOW + 120 })],
      end: NOW + 120,
    },
    {
      name: 'one ending, one renewing: no known end',
      subs: [record({ id: 'sub_a', cancelAt: NOW + 60 }), record({ id: 'sub_b' })],
      end: null,
    },
    {
      name: 'an ended one does not count',
      subs: [record({ id: 'sub_a', cancelAt: NOW + 60 }), record({ id: 'sub_b', status: 'canceled' })],
      end: NOW + 60,
    },
  ])('$name', ({ subs, end }) => {
    expect(decideEntitlement({ ...base, subscriptions: subs }).accessEndsAt).toBe(end);
  });
});

describe('tokenExpiry: a token never outlives the access', () => {
  const TTL = 3600;
  const decision = (premium: boolean, accessEndsAt: number | null) => ({
    entitlement: { premium } as Parameters<typeof tokenExpiry>[2]['entitlement'],
    accessEndsAt,
    plan: null,
  });
  it.each([
    { name: 'not premium: the TTL', premium: false, end: null, exp: NOW + TTL },
    { name: 'premium, renewing: the TTL', premium: true, end: null, exp: NOW + TTL },
    { name: 'grace or cancel_at ends sooner: then', premium: true, end: NOW + 600, exp: NOW + 600 },
    { name: 'access ends after the TTL: the TTL caps', premium: true, end: NOW + 5 * TTL, exp: NOW + TTL },
    { name: 'ends exactly at the TTL', premium: true, end: NOW + TTL, exp: NOW + TTL },
    { name: 'an end already past: expired at once', premium: true, end: NOW - 10, exp: NOW },
  ])('$name', ({ premium, end, exp }) => {
    expect(tokenExpiry(NOW, TTL, decision(premium, end))).toBe(exp);
  });
});

describe('decideEntitlement: a card-less trial', () => {
  const trial = { priceId: 'price_pro', startedAt: NOW - 86_400, endsAt: NOW + 6 * 86_400 };
  const base = { customerFeatures: {}, priceFeatures: { price_pro: ['export'] }, trial, now: NOW, pastDueGraceHours: 72 };
  const iso = (t: number) => new Date(t * 1000).toISOString();

  it.each([
    {
      name: 'a running trial grants its plan and features until it ends',
      inputs: {},
      want: { premium: true, reason: 'free_trial', priceId: 'price_pro', features: ['export'], trialEndsAt: iso(trial.endsAt) },
      accessEndsAt: trial.endsAt,
      plan: { priceId: 'price_pro', productId: null, periodStart: trial.startedAt, periodEnd: trial.endsAt },
    },
    {
      name: 'at its end it no longer grants, and says so',
      inputs: { now: trial.endsAt },
      want: { premium: false, reason: 'trial_ended', priceId: null, features: [], trialEndsAt: iso(trial.endsAt) },
      accessEndsAt: null,
      plan: null,
    },
    {
      name: 'a Stripe subscription takes precedence, even one that no longer grants',
      inputs: { subscriptions: [record({ status: 'canceled', priceId: 'price_basic' })] },
      want: { premium: false, reason: 'canceled', priceId: 'price_basic', trialEndsAt: null },
      accessEndsAt: null,
      plan: null,
    },
    {
      name: 'a paying subscription describes the answer and its billing period is the plan',
      inputs: { subscriptions: [record({ priceId: 'price_basic', productId: 'prod_basic' })] },
      want: { premium: true, reason: 'active', priceId: 'price_basic', trialEndsAt: null },
      accessEndsAt: null,
      plan: { priceId: 'price_basic', productId: 'prod_basic', periodStart: NOW - 10 * 86_400, periodEnd: NOW + 20 * 86_400 },
    },
    {
      name: 'no trial and no subscription',
      inputs: { trial: null },
      want: { premium: false, reason: 'no_subscription', trialEndsAt: null },
      accessEndsAt: null,
      plan: null,
    },
  ])('$name', ({ inputs, want, accessEndsAt, plan }) => {
    const decision = decideEntitlement({ ...base, subscriptions: [], ...inputs });
    expect(decision.entitlement).toMatchObject(want);
    expect(decision.accessEndsAt).toBe(accessEndsAt);
    expect(decision.plan).toEqual(plan);
  });

  it('a trial token ends with the trial', () => {
    const decision = decideEntitlement({ ...base, subscriptions: [], now: trial.endsAt - 60 });
    expect(tokenExpiry(trial.endsAt - 60, 3600, decision)).toBe(trial.endsAt);
  });
});

describe('decideTrialStart: once per account and per verified email', () => {
  const fresh = { hadTrial: false, subscribed: false, verifiedEmails: 0, emailsThatHadTrial: 0, requiresEmail: false };
  it.each([
    { name: 'a new account starts one', facts: {}, want: { start: true } },
    { name: 'a second one is refused', facts: { hadTrial: true }, want: { start: false, refusal: 'trial_used' } },
    {
      name: 'an email another account had a trial with',
      facts: { verifiedEmails: 1, emailsThatHadTrial: 1 },
      want: { start: false, refusal: 'trial_used' },
    },
    { name: 'a subscriber gains nothing from one', facts: { subscribed: true }, want: { start: false, refusal: 'already_subscribed' } },
    { name: 'an email is required and there is none', facts: { requiresEmail: true }, want: { start: false, refusal: 'email_required' } },
    { name: 'an email is required and verified', facts: { requiresEmail: true, verifiedEmails: 1 }, want: { start: true } },
  ])('$name', ({ facts, want }) => {
    expect(decideTrialStart({ ...fresh, ...facts })).toEqual(want);
  });
});
