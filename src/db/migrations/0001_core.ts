import type { Kysely, Migration } from 'kysely';

/** The first tables: users, events, customers, subscriptions and their history. */
export const core = (isPostgres: boolean): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('token_hash', 'text', (c) => c.unique())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('webhook_events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('api_version', 'text')
      .addColumn('livemode', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created', 'bigint', (c) => c.notNull())
      .addColumn('received_at', 'bigint', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('last_error', 'text')
      .addColumn('next_attempt_at', 'bigint')
      .addColumn('processed_at', 'bigint')
      .addColumn('outcome', 'text')
      .execute();
    await db.schema.createIndex('webhook_events_queue').on('webhook_events').columns(['status', 'next_attempt_at', 'created']).execute();

    await db.schema
      .createTable('customers')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text')
      .addColumn('linked_by', 'text')
      .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('features', 'text')
      .addColumn('features_event_created', 'bigint')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('customers_user').on('customers').column('user_id').execute();

    await db.schema
      .createTable('subscriptions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('customer_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('price_id', 'text')
      .addColumn('product_id', 'text')
      .addColumn('current_period_start', 'bigint')
      .addColumn('current_period_end', 'bigint')
      .addColumn('cancel_at_period_end', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('cancel_at', 'bigint')
      .addColumn('canceled_at', 'bigint')
      .addColumn('ended_at', 'bigint')
      .addColumn('trial_end', 'bigint')
      .addColumn('past_due_since', 'bigint')
      .addColumn('last_event_id', 'text', (c) => c.notNull())
      .addColumn('last_event_type', 'text', (c) => c.notNull())
      .addColumn('last_event_created', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('subscriptions_customer').on('subscriptions').column('customer_id').execute();

    await db.schema
      .createTable('subscription_history')
      .addColumn('id', isPostgres ? 'bigserial' : 'integer', (c) => (isPostgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn('subscription_id', 'text', (c) => c.notNull())
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('event_type', 'text', (c) => c.notNull())
      .addColumn('event_created', 'bigint', (c) => c.notNull())
      .addColumn('applied_at', 'bigint', (c) => c.notNull())
      .addColumn('status_before', 'text')
      .addColumn('status_after', 'text')
      .addColumn('changes', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('subscription_history_subscription')
      .on('subscription_history')
      .columns(['subscription_id', 'id'])
      .execute();

    await db.schema
      .createTable('subscription_observations')
      .addColumn('subscription_id', 'text', (c) => c.notNull())
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('event_created', 'bigint', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('subscription_observations_pk', ['subscription_id', 'event_id'])
      .execute();

    await db.schema
      .createTable('subscription_payments')
      .addColumn('subscription_id', 'text', (c) => c.primaryKey())
      .addColumn('last_payment_succeeded_at', 'bigint')
      .addColumn('last_payment_failed_at', 'bigint')
      .addColumn('last_invoice_id', 'text')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<any>) {
    for (const table of [
      'subscription_payments',
      'subscription_observations',
      'subscription_history',
      'subscriptions',
      'customers',
      'webhook_events',
      'users',
    ]) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
});
