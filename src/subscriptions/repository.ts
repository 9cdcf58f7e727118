import { type Kysely, sql } from 'kysely';
import type { Database, Dialect, SubscriptionPaymentsRow, SubscriptionRow } from '../db/index.js';
import type { EventStamp, PaymentFacts, StatusObservation, SubscriptionRecord } from './decide.js';
import { diffRecords } from './decide.js';
import type { SubscriptionStatus } from './stripe-objects.js';

export type LinkResult = { linked: true } | { linked: false; existingUserId: string };

/** Database reads and writes of sync, always inside the transaction that marks the event applied. */
export class SyncRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly now: () => number = Date.now,
  ) {}

  /** Serializes concurrent events of one subscription across processes (PostgreSQL); SQLite writers are serial already. */
  async lockSubscription(subscriptionId: string): Promise<void> {
    if (this.dialect === 'postgres') {
      await sql`select pg_advisory_xact_lock(hashtextextended(${subscriptionId}, 0))`.execute(this.db);
    }
  }

  async getSubscription(id: string): Promise<SubscriptionRecord | null> {
    const row = await this.db.selectFrom('subscriptions').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? recordFromRow(row) : null;
  }

  /** Writes the record and one history row explaining the change. */
  async saveSubscription(before: SubscriptionRecord | null, after: SubscriptionRecord, event: EventStamp): Promise<void> {
    const row = rowFromRecord(after, this.now());
    await this.upsert('subscriptions', 'id', row);
    await this.addHistory(after.id, event, before?.status ?? null, after.status, diffRecords(before, after));
  }

  /** Remembers what status this event showed (once per event), and returns every status seen for the subscription. */
  async observeStatus(subscriptionId: string, event: EventStamp, status: string): Promise<StatusObservation[]> {
    await this.db
      .insertInto('subscription_observations')
      .values({ subscription_id: subscriptionId, event_id: event.id, event_created: event.created, status })
      .onConflict((oc) => oc.columns(['subscription_id', 'event_id']).doNothing())
      .execute();
    const rows = await this.db
      .selectFrom('subscription_observations')
      .select(['event_created', 'status'])
      .where('subscription_id', '=', subscriptionId)
      .execute();
    return rows.map((r) => ({ created: r.event_created, status: r.status as SubscriptionStatus }));
  }

  async getPaymentFacts(subscriptionId: string): Promise<PaymentFacts | null> {
    const row = await this.db.selectFrom('subscription_payments').selectAll().where('subscription_id', '=', subscriptionId).executeTakeFirst();
    return row ? paymentFactsFromRow(row) : null;
  }

  async savePaymentFacts(before: PaymentFacts | null, after: PaymentFacts, event: EventStamp): Promise<void> {
    await this.upsert('subscription_payments', 'subscription_id', {
      subscription_id: after.subscriptionId,
      last_payment_succeeded_at: after.lastPaymentSucceededAt,
      last_payment_failed_at: after.lastPaymentFailedAt,
      last_invoice_id: after.lastInvoiceId,
      updated_at: this.now(),
    });
    await this.addHistory(after.subscriptionId, event, null, null, diffRecords(before, after));
  }

  private async upsert<T extends 'subscriptions' | 'subscription_payments'>(table: T, key: string, row: Record<string, unknown>) {
    await this.db
      .insertInto(table)
      .values(row as any)
      .onConflict((oc) =>
        oc.column(key as any).doUpdateSet(({ ref }) =>
          Object.fromEntries(Object.keys(row).filter((k) => k !== key).map((k) => [k, ref(`excluded.${k}` as any)])) as any,
        ),
      )
      .execute();
  }

  private async addHistory(
    subscriptionId: string,
    event: EventStamp,
    statusBefore: string | null,
    statusAfter: string | null,
    changes: Record<string, [unknown, unknown]>,
  ): Promise<void> {
    await this.db
      .insertInto('subscription_history')
      .values({
        subscription_id: subscriptionId,
        event_id: event.id,
        event_type: event.type,
        event_created: event.created,
        applied_at: this.now(),
        status_before: statusBefore,
        status_after: statusAfter,
        changes: JSON.stringify(changes),
      })
      .execute();
  }

  /** Links a customer to a user unless it already belongs to one: the first link wins. */
  async linkCustomer(customerId: string, userId: string, linkedBy: string): Promise<LinkResult> {
    const now = this.now();
    await this.db
      .insertInto('customers')
      .values({ id: customerId, user_id: userId, linked_by: linkedBy, deleted: 0, updated_at: now })
      .onConflict((oc) =>
        oc
          .column('id')
          .doUpdateSet({ user_id: userId, linked_by: linkedBy, updated_at: now })
          .where('customers.user_id', 'is', null),
      )
      .execute();
    const row = await this.db.selectFrom('customers').select('user_id').where('id', '=', customerId).executeTakeFirstOrThrow();
    return row.user_id === userId ? { linked: true } : { linked: false, existingUserId: row.user_id! };
  }

  async userExists(userId: string): Promise<boolean> {
    return (await this.db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst()) !== undefined;
  }

  async markCustomerDeleted(customerId: string): Promise<void> {
    const now = this.now();
    await this.db
      .insertInto('customers')
      .values({ id: customerId, deleted: 1, updated_at: now })
      .onConflict((oc) => oc.column('id').doUpdateSet({ deleted: 1, updated_at: now }))
      .execute();
  }

  /** Stores the customer's entitlement lookup keys unless a newer summary is already stored. */
  async setCustomerFeatures(customerId: string, features: string[], eventCreated: number): Promise<boolean> {
    const now = this.now();
    const json = JSON.stringify(features);
    const result = await this.db
      .insertInto('customers')
      .values({ id: customerId, deleted: 0, features: json, features_event_created: eventCreated, updated_at: now })
      .onConflict((oc) =>
        oc
          .column('id')
          .doUpdateSet({ features: json, features_event_created: eventCreated, updated_at: now })
          .where((eb) =>
            eb.or([eb('customers.features_event_created', 'is', null), eb('customers.features_event_created', '<=', eventCreated)]),
          ),
      )
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }
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

function paymentFactsFromRow(row: SubscriptionPaymentsRow): PaymentFacts {
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
