import type { SubscriptionSnapshot, SubscriptionStatus } from './stripe-objects.js';

/** The stored state of one Stripe subscription, as sync keeps it. */
export interface SubscriptionRecord {
  id: string;
  customerId: string;
  status: SubscriptionStatus;
  priceId: string | null;
  productId: string | null;
  currentPeriodStart: number | null;
  currentPeriodEnd: number | null;
  cancelAtPeriodEnd: boolean;
  cancelAt: number | null;
  canceledAt: number | null;
  endedAt: number | null;
  trialEnd: number | null;
  /** Unix seconds: `created` of the first event that showed the subscription past_due; null otherwise. */
  pastDueSince: number | null;
  lastEventId: string;
  lastEventType: string;
  lastEventCreated: number;
  lastPaymentSucceededAt: number | null;
  lastPaymentFailedAt: number | null;
  lastInvoiceId: string | null;
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
 */
export function decideSubscriptionEvent(
  current: SubscriptionRecord | null,
  snapshot: SubscriptionSnapshot,
  event: EventStamp,
): Decision<SubscriptionRecord> {
  if (current) {
    if (event.type === 'customer.subscription.created') {
      return { apply: false, reason: 'a created event never overwrites an existing record' };
    }
    if (event.created < current.lastEventCreated) {
      return { apply: false, reason: `stale: created ${event.created} is older than the applied ${current.lastEventId} (${current.lastEventCreated})` };
    }
    if (TERMINAL.has(current.status) && !TERMINAL.has(snapshot.status) && event.created === current.lastEventCreated) {
      return { apply: false, reason: `a ${current.status} subscription is not revived by an event of the same second` };
    }
  }
  const stillPastDue = snapshot.status === 'past_due' && current?.status === 'past_due' && current.pastDueSince !== null;
  return {
    apply: true,
    next: {
      id: snapshot.id,
      customerId: snapshot.customerId,
      status: snapshot.status,
      priceId: snapshot.priceId,
      productId: snapshot.productId,
      currentPeriodStart: snapshot.currentPeriodStart,
      currentPeriodEnd: snapshot.currentPeriodEnd,
      cancelAtPeriodEnd: snapshot.cancelAtPeriodEnd,
      cancelAt: snapshot.cancelAt,
      canceledAt: snapshot.canceledAt,
      endedAt: snapshot.endedAt,
      trialEnd: snapshot.trialEnd,
      pastDueSince: snapshot.status !== 'past_due' ? null : stillPastDue ? current!.pastDueSince : event.created,
      lastEventId: event.id,
      lastEventType: event.type,
      lastEventCreated: event.created,
      lastPaymentSucceededAt: current?.lastPaymentSucceededAt ?? null,
      lastPaymentFailedAt: current?.lastPaymentFailedAt ?? null,
      lastInvoiceId: current?.lastInvoiceId ?? null,
    },
  };
}

export type PaymentOutcome = 'succeeded' | 'failed';

/** Invoice events record payment facts only; they never move a subscription's status. */
export function decidePaymentFact(
  current: SubscriptionRecord | null,
  invoiceId: string,
  outcome: PaymentOutcome,
  event: EventStamp,
): Decision<SubscriptionRecord> {
  if (!current) return { apply: false, reason: 'no record of the invoice\'s subscription yet' };
  const field = outcome === 'succeeded' ? 'lastPaymentSucceededAt' : 'lastPaymentFailedAt';
  const known = current[field];
  if (known !== null && known > event.created) {
    return { apply: false, reason: `a newer payment ${outcome === 'succeeded' ? 'success' : 'failure'} is already recorded` };
  }
  return { apply: true, next: { ...current, [field]: event.created, lastInvoiceId: invoiceId } };
}

/** The fields that differ between two records, as {field: [before, after]}, for the history. */
export function diffRecords(before: SubscriptionRecord | null, after: SubscriptionRecord): Record<string, [unknown, unknown]> {
  const changes: Record<string, [unknown, unknown]> = {};
  for (const key of Object.keys(after) as (keyof SubscriptionRecord)[]) {
    if (key.startsWith('lastEvent')) continue;
    const previous = before ? before[key] : null;
    if (previous !== after[key]) changes[key] = [previous, after[key]];
  }
  return changes;
}
