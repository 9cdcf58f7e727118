import type { SubscriptionStatus } from '../subscriptions/index.js';
import type { AccessRecord } from './read-model.js';

type AccessReason =
  | 'active'
  | 'trialing'
  | 'past_due_in_grace'
  | 'past_due_grace_expired'
  | Exclude<SubscriptionStatus, 'active' | 'trialing' | 'past_due'>
  | 'no_subscription'
  | 'free_trial'
  | 'trial_ended';

export interface Access {
  grants: boolean;
  reason: AccessReason;
  /** Unix seconds until which a past_due subscription still grants access. */
  graceUntil: number | null;
}

/** Whether one subscription record grants access at `now` (unix seconds). Pure: the record and the clock decide. */
export function accessOf(record: AccessRecord, now: number, pastDueGraceHours: number): Access {
  switch (record.status) {
    case 'active':
    case 'trialing':
      return { grants: true, reason: record.status, graceUntil: null };
    case 'past_due': {
      const since = record.pastDueSince ?? record.lastEventCreated;
      const graceUntil = since + Math.round(pastDueGraceHours * 3600);
      return now < graceUntil
        ? { grants: true, reason: 'past_due_in_grace', graceUntil }
        : { grants: false, reason: 'past_due_grace_expired', graceUntil };
    }
    default:
      return { grants: false, reason: record.status, graceUntil: null };
  }
}

/** The answer of `GET /v1/entitlements`, less the user id. */
interface Entitlement {
  premium: boolean;
  reason: AccessReason;
  status: SubscriptionStatus | null;
  priceId: string | null;
  productId: string | null;
  features: string[];
  currentPeriodEnd: string | null;
  cancelAtPeriodEnd: boolean;
  graceUntil: string | null;
  /** ISO end of the card-less trial, when a trial decides the answer. */
  trialEndsAt: string | null;
}

/** A card-less trial (`POST /v1/trial`): it grants the plan of a price until it ends. */
export interface TrialRecord {
  priceId: string;
  startedAt: number;
  endsAt: number;
}

/** What grants the access, as usage quotas see it: the price and product, and the period it runs in. */
export interface GrantingPlan {
  priceId: string | null;
  productId: string | null;
  /** Unix seconds of the current billing period (a trial's own start and end); null when unknown. */
  periodStart: number | null;
  periodEnd: number | null;
}

/** An entitlement, when the access it grants ends as far as the records know, and what grants it. */
export interface Decision {
  entitlement: Entitlement;
  /** Unix seconds; null when nothing grants access, or when a granting subscription has no known end (it renews). */
  accessEndsAt: number | null;
  /** Null when not premium: the user is then on the free plan. */
  plan: GrantingPlan | null;
}

export interface EntitlementInputs {
  subscriptions: AccessRecord[];
  /** Entitlement lookup keys Stripe reported per customer (null: no summary received for that customer). */
  customerFeatures: Record<string, string[] | null>;
  /** Configured price → features, used when a customer has no entitlement summary. */
  priceFeatures: Record<string, string[]>;
  /** The account's trial, if it started one; any Stripe subscription takes precedence over it. */
  trial: TrialRecord | null;
  now: number;
  pastDueGraceHours: number;
}

const GRANT_RANK: Partial<Record<AccessReason, number>> = { active: 3, trialing: 2, past_due_in_grace: 1 };

/**
 * The user's entitlement from all their subscriptions: premium if any grants access, described by
 * the best one (active, then trialing, then past_due in grace; then the latest period end).
 * When none grants, the most recently changed subscription describes the answer.
 */
export function decideEntitlement(inputs: EntitlementInputs): Decision {
  if (inputs.subscriptions.length === 0) return inputs.trial ? decideTrial(inputs.trial, inputs) : NO_SUBSCRIPTION;
  const judged = inputs.subscriptions.map((record) => ({ record, access: accessOf(record, inputs.now, inputs.pastDueGraceHours) }));
  const { record, access } = mostRelevant(judged);
  const features = access.grants
    ? (inputs.customerFeatures[record.customerId] ?? (record.priceId ? inputs.priceFeatures[record.priceId] : undefined) ?? [])
    : [];
  const entitlement: Entitlement = {
    premium: access.grants,
    reason: access.reason,
    status: record.status,
    priceId: record.priceId,
    productId: record.productId,
    features,
    currentPeriodEnd: isoOrNull(record.currentPeriodEnd),
    cancelAtPeriodEnd: record.cancelAtPeriodEnd || (record.cancelAt !== null && record.status !== 'canceled'),
    graceUntil: isoOrNull(access.graceUntil),
    trialEndsAt: null,
  };
  const plan = access.grants
    ? { priceId: record.priceId, productId: record.productId, periodStart: record.currentPeriodStart, periodEnd: record.currentPeriodEnd }
    : null;
  return { entitlement, accessEndsAt: accessEnd(judged), plan };
}

/** An answer no subscription describes: none at all, or a trial. */
function withoutSubscription(
  reason: AccessReason,
  trial: { priceId: string; features: string[] } | null,
  trialEndsAt: string | null,
): Entitlement {
  return {
    premium: trial !== null,
    reason,
    status: null,
    priceId: trial?.priceId ?? null,
    productId: null,
    features: trial?.features ?? [],
    currentPeriodEnd: null,
    cancelAtPeriodEnd: false,
    graceUntil: null,
    trialEndsAt,
  };
}

const NO_SUBSCRIPTION: Decision = { entitlement: withoutSubscription('no_subscription', null, null), accessEndsAt: null, plan: null };

/** A trial grants its price's plan and features until it ends; then it says so. */
function decideTrial(trial: TrialRecord, inputs: EntitlementInputs): Decision {
  const trialEndsAt = isoOrNull(trial.endsAt);
  if (inputs.now >= trial.endsAt)
    return { entitlement: withoutSubscription('trial_ended', null, trialEndsAt), accessEndsAt: null, plan: null };
  const granted = { priceId: trial.priceId, features: inputs.priceFeatures[trial.priceId] ?? [] };
  return {
    entitlement: withoutSubscription('free_trial', granted, trialEndsAt),
    accessEndsAt: trial.endsAt,
    plan: { priceId: trial.priceId, productId: null, periodStart: trial.startedAt, periodEnd: trial.endsAt },
  };
}

type Judged = { record: AccessRecord; access: Access }[];

function mostRelevant(judged: Judged): Judged[number] {
  const byRelevance = [...judged].sort(
    (a, b) =>
      Number(b.access.grants) - Number(a.access.grants) ||
      (GRANT_RANK[b.access.reason] ?? 0) - (GRANT_RANK[a.access.reason] ?? 0) ||
      (a.access.grants ? 0 : b.record.lastEventCreated - a.record.lastEventCreated) ||
      (b.record.currentPeriodEnd ?? 0) - (a.record.currentPeriodEnd ?? 0) ||
      a.record.id.localeCompare(b.record.id),
  );
  return byRelevance[0]!;
}

/**
 * The latest end among the granting subscriptions: a grace period's end, a `cancel_at`, or the
 * period end of one set to cancel then. One that grants with no known end (it renews) makes it null.
 */
function accessEnd(judged: Judged): number | null {
  const ends = judged.filter((j) => j.access.grants).map(({ record, access }) => endOf(record, access));
  if (ends.length === 0 || ends.includes(null)) return null;
  return Math.max(...(ends as number[]));
}

function endOf(record: AccessRecord, access: Access): number | null {
  const candidates = [access.graceUntil, record.cancelAt, record.cancelAtPeriodEnd ? record.currentPeriodEnd : null].filter(
    (t): t is number => t !== null,
  );
  return candidates.length > 0 ? Math.min(...candidates) : null;
}

/**
 * When a token issued at `iat` (unix seconds) expires: after the TTL, or where a premium access
 * ends sooner, then. An end already past gives a token that is expired at once: the records
 * still grant (Stripe's cancellation has not arrived) but say the access is over.
 */
export function tokenExpiry(iat: number, ttlSeconds: number, decision: Decision): number {
  const ttlEnd = iat + ttlSeconds;
  if (!decision.entitlement.premium || decision.accessEndsAt === null) return ttlEnd;
  return Math.max(iat, Math.min(ttlEnd, decision.accessEndsAt));
}

function isoOrNull(unixSeconds: number | null): string | null {
  return unixSeconds === null ? null : new Date(unixSeconds * 1000).toISOString();
}

export type TrialRefusal = 'trial_used' | 'email_required' | 'already_subscribed';

/** What a `POST /v1/trial` may do, from what the account already has. */
export interface TrialStartFacts {
  /** The account started a trial before (it may have ended). */
  hadTrial: boolean;
  /** The account has a Stripe subscription, of any status: it takes precedence, so a trial would grant nothing. */
  subscribed: boolean;
  /** The account's verified emails, and how many of them another account started a trial with. */
  verifiedEmails: number;
  emailsThatHadTrial: number;
  requiresEmail: boolean;
}

/** Once per account and once per verified email; a verified email first when so configured. */
export function decideTrialStart(facts: TrialStartFacts): { start: true } | { start: false; refusal: TrialRefusal } {
  if (facts.hadTrial || facts.emailsThatHadTrial > 0) return { start: false, refusal: 'trial_used' };
  if (facts.subscribed) return { start: false, refusal: 'already_subscribed' };
  if (facts.requiresEmail && facts.verifiedEmails === 0) return { start: false, refusal: 'email_required' };
  return { start: true };
}
