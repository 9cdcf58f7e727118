import type { SubscriptionSnapshot, SubscriptionStatus } from './stripe-objects.js';

/** The stored state of one Stripe subscription, as sync keeps it: the last applied snapshot and where it came from. */
export interface SubscriptionRecord extends Omit<SubscriptionSnapshot, 'userId'> {
  /** Unix seconds: `created` of the first event of the current past_due streak; null unless past_due. */
  pastDueSince: number | null;
  lastEventId: string;
  lastEventType: string;
  lastEventCreated: number;
}

/** What one event said about a subscription's status, whether or not it was applied. */
export interface StatusObservation {
  created: number;
  status: SubscriptionStatus;
}

export interface EventStamp {
  id: string;
  type: string;
  /** Stripe's `created`, unix seconds. */
  created: number;
}

export type Decision<T> = { apply: true; next: T } | { apply: false; reason: string };

const TERMINAL: ReadonlySet<SubscriptionStatus> = new Set(['canceled', 'incomplete_expired']);

/**
 * How a subscription event changes the record. `created` has one-second resolution, so:
 * an older event never overwrites a newer one; a `customer.subscription.created` never
 * overwrites an existing record; a terminal subscription is not revived by an event of the
 * same second; otherwise the later arrival wins.
 *
 * `observations` are every status seen for this subscription (this event's included), so that
 * the past_due grace starts at the first event of the current past_due streak whatever the
 * arrival order: a late, older past_due event can move that start back without overwriting anything.
 */
export function decideSubscriptionEvent(
  current: SubscriptionRecord | null,
  snapshot: SubscriptionSnapshot,
  event: EventStamp,
  observations: readonly StatusObservation[],
): Decision<SubscriptionRecord> {
  const refusal = current ? refusalOf(current, snapshot, event) : undefined;
  const base = current && refusal ? current : recordFromSnapshot(snapshot, event);
  const next = { ...base, pastDueSince: base.status === 'past_due' ? pastDueStreakStart(observations, base.lastEventCreated) : null };
  if (refusal && next.pastDueSince === current!.pastDueSince) return { apply: false, reason: refusal };
  return { apply: true, next };
}

function refusalOf(current: SubscriptionRecord, snapshot: SubscriptionSnapshot, event: EventStamp): string | undefined {
  if (event.id === current.lastEventId) return 'already applied (a replay)';
  if (event.type === 'customer.subscription.created') return 'a created event never overwrites an existing record';
  if (event.created < current.lastEventCreated) {
    return `stale: created ${event.created} is older than the applied ${current.lastEventId} (${current.lastEventCreated})`;
  }
  if (TERMINAL.has(current.status) && !TERMINAL.has(snapshot.status) && event.created === current.lastEventCreated) {
    return `a ${current.status} subscription is not revived by an event of the same second`;
  }
  return undefined;
}

function recordFromSnapshot({ userId: _linkedSeparately, ...snapshot }: SubscriptionSnapshot, event: EventStamp): SubscriptionRecord {
  return { ...snapshot, pastDueSince: null, lastEventId: event.id, lastEventType: event.type, lastEventCreated: event.created };
}

/**
 * The `created` of the first past_due observation of the streak that is current at `asOf`: the
 * earliest past_due seen with no other status seen after it (up to `asOf`). A status seen in the
 * same second as a past_due one cannot be ordered against it, so it does not end that streak.
 */
export function pastDueStreakStart(observations: readonly StatusObservation[], asOf: number): number {
  const upTo = observations.filter((o) => o.created <= asOf);
  const lastOther = Math.max(-Infinity, ...upTo.filter((o) => o.status !== 'past_due').map((o) => o.created));
  const streak = upTo.filter((o) => o.status === 'past_due' && o.created >= lastOther);
  return streak.length > 0 ? Math.min(...streak.map((o) => o.created)) : asOf;
}

export type PaymentOutcome = 'succeeded' | 'failed';

/** What invoices told us about a subscription's payments, kept apart from its status. */
export interface PaymentFacts {
  subscriptionId: string;
  lastPaymentSucceededAt: number | null;
  lastPaymentFailedAt: number | null;
  lastInvoiceId: string | null;
}

/** Invoice events record payment facts only; they never move a subscription's status. */
export function decidePaymentFact(
  current: PaymentFacts | null,
  invoice: { id: string; subscriptionId: string },
  outcome: PaymentOutcome,
  event: EventStamp,
): Decision<PaymentFacts> {
  const facts = current ?? { subscriptionId: invoice.subscriptionId, lastPaymentSucceededAt: null, lastPaymentFailedAt: null, lastInvoiceId: null };
  const field = outcome === 'succeeded' ? 'lastPaymentSucceededAt' : 'lastPaymentFailedAt';
  const known = facts[field];
  if (known === event.created && facts.lastInvoiceId === invoice.id) return { apply: false, reason: 'already recorded (a replay)' };
  if (known !== null && known > event.created) {
    return { apply: false, reason: `a newer payment ${outcome === 'succeeded' ? 'success' : 'failure'} is already recorded` };
  }
  return { apply: true, next: { ...facts, [field]: event.created, lastInvoiceId: invoice.id } };
}

/** The fields that differ between two versions of a record, as {field: [before, after]}, for the history. */
export function diffRecords<T extends object>(before: T | null, after: T): Record<string, [unknown, unknown]> {
  const changes: Record<string, [unknown, unknown]> = {};
  for (const key of Object.keys(after) as (keyof T & string)[]) {
    if (key.startsWith('lastEvent')) continue;
    const previous = before ? before[key] : null;
    if (previous !== after[key]) changes[key] = [previous, after[key]];
  }
  return changes;
}
