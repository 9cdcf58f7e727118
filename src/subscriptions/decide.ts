import type { SubscriptionSnapshot, SubscriptionStatus } from './stripe-objects.js';

/** The stored state of one Stripe subscription, as sync keeps it: the last applied snapshot and where it came from. */
export interface SubscriptionRecord extends Omit<SubscriptionSnapshot, 'userId'> {
  /** Unix seconds: `created` of the first event of the current past_due streak; null unless past_due. */
  pastDueSince: number | null;
  lastEventId: string;
  lastEventType: string;
  lastEventCreated: number;
  /** When this state was read from Stripe's API (ms); null when it came from an event's payload. */
  syncedAt: number | null;
}

/** What one event said about a subscription's status, whether or not it was applied. */
export interface StatusObservation {
  created: number;
  status: SubscriptionStatus;
}

/** A status observation with the event that made it: each event is observed once, whatever its replays. */
export interface SeenStatus extends StatusObservation {
  eventId: string;
}

/** The statuses seen for a subscription once `event` showed `status`: unchanged when that event was seen already. */
export function observe(seen: readonly SeenStatus[], event: EventStamp, status: SubscriptionStatus): SeenStatus[] {
  if (seen.some((o) => o.eventId === event.id)) return [...seen];
  return [...seen, { eventId: event.id, created: event.created, status }];
}

/** The subscription handler's step: the event's status joins those seen, then the event is decided on all of them. */
export function decideSubscriptionStep(
  current: SubscriptionRecord | null,
  seen: readonly SeenStatus[],
  snapshot: SubscriptionSnapshot,
  event: EventStamp,
): { seen: SeenStatus[]; decision: Decision<SubscriptionRecord> } {
  const observed = observe(seen, event, snapshot.status);
  return { seen: observed, decision: decideSubscriptionEvent(current, snapshot, event, observed) };
}

/** Who a customer belongs to after a link to `userId`: the first link wins, a later one is refused. */
export type LinkDecision = { link: true } | { link: false; existingUserId: string };

export function decideLink(linkedUser: string | null, userId: string): LinkDecision {
  if (linkedUser === null || linkedUser === userId) return { link: true };
  return { link: false, existingUserId: linkedUser };
}

/**
 * Whether a customer fact an event states (its entitlement summary, its email) replaces the stored
 * one: not when the stored one came from a newer event. Events of one second: the later arrival wins.
 */
export function decideCustomerFact(storedCreated: number | null, eventCreated: number): boolean {
  return storedCreated === null || storedCreated <= eventCreated;
}

export interface EventStamp {
  id: string;
  type: string;
  /** Stripe's `created`, unix seconds. */
  created: number;
}

export type Decision<T> = { apply: true; next: T } | { apply: false; reason: string };

/** A subscription read from Stripe's API: Stripe's state as of `fetchedAt`, and what made us read it. */
export interface FetchStamp {
  /** When the read was sent (ms, our clock). */
  fetchedAt: number;
  /**
   * The event that asked for the read, or a stamp naming another cause (the Checkout redirect, reconcile) at Stripe's time of the answer.
   */
  cause: EventStamp;
}

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
function decideSubscriptionEvent(
  current: SubscriptionRecord | null,
  snapshot: SubscriptionSnapshot,
  event: EventStamp,
  observations: readonly StatusObservation[],
): Decision<SubscriptionRecord> {
  const refusal = current ? refusalOf(current, snapshot, event) : undefined;
  return settle(current, refusal, recordFromSnapshot(snapshot, event), observations);
}

/**
 * How Stripe's current state, read from the API, changes the record. Such a read is newer than
 * every event created before it, whatever their arrival order; but two reads can commit in the
 * other order, so an older read never overwrites a newer one. A record last written from an
 * event's payload is newer only when that event was created after the read (whole seconds; our
 * clock against Stripe's). The record keeps the newest event stamp it has seen, so
 * `lastEventCreated` means the same in both sync modes.
 */
export function decideFetchedSubscription(
  current: SubscriptionRecord | null,
  snapshot: SubscriptionSnapshot,
  fetch: FetchStamp,
  observations: readonly StatusObservation[],
): Decision<SubscriptionRecord> {
  const refusal = current ? fetchRefusal(current, fetch) : undefined;
  const stamp =
    current && current.lastEventCreated > fetch.cause.created
      ? { id: current.lastEventId, type: current.lastEventType, created: current.lastEventCreated }
      : fetch.cause;
  return settle(current, refusal, { ...recordFromSnapshot(snapshot, stamp), syncedAt: fetch.fetchedAt }, observations);
}

function fetchRefusal(current: SubscriptionRecord, fetch: FetchStamp): string | undefined {
  if (current.syncedAt !== null && current.syncedAt > fetch.fetchedAt) {
    return `a read of ${new Date(fetch.fetchedAt).toISOString()} never overwrites the newer read of ${new Date(current.syncedAt).toISOString()}`;
  }
  if (current.syncedAt === null && current.lastEventCreated > Math.floor(fetch.fetchedAt / 1000)) {
    return `the applied event ${current.lastEventId} (created ${current.lastEventCreated}) is newer than this read`;
  }
  return undefined;
}

/** Keeps the current record when refused, but lets every decision move the past_due grace start (see above). */
function settle(
  current: SubscriptionRecord | null,
  refusal: string | undefined,
  candidate: SubscriptionRecord,
  observations: readonly StatusObservation[],
): Decision<SubscriptionRecord> {
  const base = current && refusal ? current : candidate;
  const next = { ...base, pastDueSince: base.status === 'past_due' ? pastDueStreakStart(observations, stateTime(base)) : null };
  if (refusal && next.pastDueSince === current!.pastDueSince) return { apply: false, reason: refusal };
  return { apply: true, next };
}

/** Unix seconds the record's state is known to hold at: its newest event, or the read it came from. */
function stateTime(record: SubscriptionRecord): number {
  return Math.max(record.lastEventCreated, record.syncedAt === null ? 0 : Math.floor(record.syncedAt / 1000));
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
  return {
    ...snapshot,
    pastDueSince: null,
    lastEventId: event.id,
    lastEventType: event.type,
    lastEventCreated: event.created,
    syncedAt: null,
  };
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
  const facts = current ?? {
    subscriptionId: invoice.subscriptionId,
    lastPaymentSucceededAt: null,
    lastPaymentFailedAt: null,
    lastInvoiceId: null,
  };
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
    // Bookkeeping, not a change of the subscription.
    if (key.startsWith('lastEvent') || key === 'syncedAt') continue;
    const previous = before ? before[key] : null;
    if (previous !== after[key]) changes[key] = [previous, after[key]];
  }
  return changes;
}
