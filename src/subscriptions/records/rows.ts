import type {
  CustomerRow,
  NewSubscriptionHistoryRow,
  SubscriptionObservationRow,
  SubscriptionPaymentsRow,
  SubscriptionRow,
} from '../../db/index.js';
import { diffRecords, type EventStamp, type PaymentFacts, type SeenStatus, type SubscriptionRecord } from '../decide.js';
import type { SubscriptionStatus } from '../stripe-objects.js';

/** A customer linked to its user, unless it is linked already: the first link wins (checked again by the write). */
export type CustomerLink = Pick<CustomerRow, 'id' | 'user_id' | 'linked_by' | 'deleted' | 'updated_at'>;
export type CustomerDeletion = Pick<CustomerRow, 'id' | 'updated_at'>;
export type CustomerFeatures = Pick<CustomerRow, 'id' | 'features' | 'features_event_created' | 'updated_at'>;
export type CustomerEmail = Pick<CustomerRow, 'id' | 'email' | 'email_event_created' | 'updated_at'>;

/** The rows a transaction of sync writes at its end, whatever made them: one event, a group, the Checkout redirect or reconcile. */
export interface RecordWrites {
  observations: SubscriptionObservationRow[];
  subscriptions: SubscriptionRow[];
  payments: SubscriptionPaymentsRow[];
  history: NewSubscriptionHistoryRow[];
  links: CustomerLink[];
  deletions: CustomerDeletion[];
  features: CustomerFeatures[];
  emails: CustomerEmail[];
}

export function noWrites(): RecordWrites {
  return { observations: [], subscriptions: [], payments: [], history: [], links: [], deletions: [], features: [], emails: [] };
}

/** The last row of each key: PostgreSQL refuses to upsert one row twice in a statement. */
export function latestOfEach<T extends object>(rows: readonly T[], key: keyof T): T[] {
  return [...new Map(rows.map((row) => [row[key], row])).values()];
}

/** The rows that store a subscription's new state and explain the change. */
export function subscriptionWrites(
  before: SubscriptionRecord | null,
  after: SubscriptionRecord,
  event: EventStamp,
  now: number,
): Partial<RecordWrites> {
  return {
    subscriptions: [rowFromRecord(after, now)],
    history: [historyRow(after.id, event, before?.status ?? null, after.status, diffRecords(before, after), now)],
  };
}

export function paymentWrites(before: PaymentFacts | null, after: PaymentFacts, event: EventStamp, now: number): Partial<RecordWrites> {
  return {
    payments: [
      {
        subscription_id: after.subscriptionId,
        last_payment_succeeded_at: after.lastPaymentSucceededAt,
        last_payment_failed_at: after.lastPaymentFailedAt,
        last_invoice_id: after.lastInvoiceId,
        updated_at: now,
      },
    ],
    history: [historyRow(after.subscriptionId, event, null, null, diffRecords(before, after), now)],
  };
}

export function observationRow(subscriptionId: string, seen: SeenStatus): SubscriptionObservationRow {
  return { subscription_id: subscriptionId, event_id: seen.eventId, event_created: seen.created, status: seen.status };
}

export function seenStatusOf(row: SubscriptionObservationRow): SeenStatus {
  return { eventId: row.event_id, created: row.event_created, status: row.status as SubscriptionStatus };
}

function historyRow(
  subscriptionId: string,
  event: EventStamp,
  statusBefore: string | null,
  statusAfter: string | null,
  changes: Record<string, [unknown, unknown]>,
  now: number,
): NewSubscriptionHistoryRow {
  return {
    subscription_id: subscriptionId,
    event_id: event.id,
    event_type: event.type,
    event_created: event.created,
    applied_at: now,
    status_before: statusBefore,
    status_after: statusAfter,
    changes: JSON.stringify(changes),
  };
}

export function recordFromRow(row: SubscriptionRow): SubscriptionRecord {
  return {
    id: row.id,
    customerId: row.customer_id,
    status: row.status as SubscriptionStatus,
    priceId: row.price_id,
    productId: row.product_id,
    currentPeriodStart: row.current_period_start,
    currentPeriodEnd: row.current_period_end,
    cancelAtPeriodEnd: row.cancel_at_period_end === 1,
    cancelAt: row.cancel_at,
    canceledAt: row.canceled_at,
    endedAt: row.ended_at,
    trialEnd: row.trial_end,
    pastDueSince: row.past_due_since,
    lastEventId: row.last_event_id,
    lastEventType: row.last_event_type,
    lastEventCreated: row.last_event_created,
    syncedAt: row.synced_at,
  };
}

export function paymentFactsFromRow(row: SubscriptionPaymentsRow): PaymentFacts {
  return {
    subscriptionId: row.subscription_id,
    lastPaymentSucceededAt: row.last_payment_succeeded_at,
    lastPaymentFailedAt: row.last_payment_failed_at,
    lastInvoiceId: row.last_invoice_id,
  };
}

function rowFromRecord(r: SubscriptionRecord, now: number): SubscriptionRow {
  return {
    id: r.id,
    customer_id: r.customerId,
    status: r.status,
    price_id: r.priceId,
    product_id: r.productId,
    current_period_start: r.currentPeriodStart,
    current_period_end: r.currentPeriodEnd,
    cancel_at_period_end: r.cancelAtPeriodEnd ? 1 : 0,
    cancel_at: r.cancelAt,
    canceled_at: r.canceledAt,
    ended_at: r.endedAt,
    trial_end: r.trialEnd,
    past_due_since: r.pastDueSince,
    last_event_id: r.lastEventId,
    last_event_type: r.lastEventType,
    last_event_created: r.lastEventCreated,
    synced_at: r.syncedAt,
    updated_at: now,
  };
}
