import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Usage quotas and card-less trials. Every consumption is a row (`usage_events`), so any window
 * (a day, a month, a billing period, a lifetime) is a sum over an index, and a plan change
 * keeps what was used counted; a consumption with an idempotency key keeps its answer. A trial
 * is one row per account, and one per verified email that started one. The SQLite covering index
 * of a check gains `current_period_start`, which billing-period quotas read.
 */
export const usageAndTrials = (isPostgres: boolean): Migration => ({
  async up(db: Kysely<any>) {
    const bigint = isPostgres ? 'bigint' : 'integer';
    await db.schema
      .createTable('usage_events')
      .addColumn('id', isPostgres ? 'bigserial' : 'integer', (c) => (isPostgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('feature', 'text', (c) => c.notNull())
      // What it counts: the amount of an allowed consumption, 0 for a refused one, minus the count for a reset.
      .addColumn('amount', bigint, (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('at', bigint, (c) => c.notNull())
      .addColumn('idempotency_key', 'text')
      // The answer given, as JSON, kept only for a consumption with an idempotency key.
      .addColumn('answer', 'text')
      .execute();
    if (isPostgres) await sql`create index usage_events_window on usage_events (user_id, feature, at) include (amount)`.execute(db);
    else await db.schema.createIndex('usage_events_window').on('usage_events').columns(['user_id', 'feature', 'at', 'amount']).execute();
    await sql`create unique index usage_events_idempotency on usage_events (user_id, feature, idempotency_key) where idempotency_key is not null`.execute(
      db,
    );
    await db.schema
      .createTable('trials')
      .addColumn('user_id', 'text', (c) => c.primaryKey())
      .addColumn('price_id', 'text', (c) => c.notNull())
      .addColumn('started_at', bigint, (c) => c.notNull())
      .addColumn('ends_at', bigint, (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('trial_emails')
      .addColumn('email', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .execute();
    if (isPostgres) return;
    await db.schema.dropIndex('subscriptions_customer_check').execute();
    await db.schema.createIndex('subscriptions_customer_check').on('subscriptions').columns(checkColumns(true)).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('trial_emails').execute();
    await db.schema.dropTable('trials').execute();
    await db.schema.dropTable('usage_events').execute();
    if (isPostgres) return;
    await db.schema.dropIndex('subscriptions_customer_check').execute();
    await db.schema.createIndex('subscriptions_customer_check').on('subscriptions').columns(checkColumns(false)).execute();
  },
});

/** The subscription columns an entitlement check reads (src/entitlements/read-model.ts), after the key. */
function checkColumns(withPeriodStart: boolean): string[] {
  return [
    'customer_id',
    'id',
    'status',
    'price_id',
    'product_id',
    ...(withPeriodStart ? ['current_period_start'] : []),
    'current_period_end',
    'cancel_at_period_end',
    'cancel_at',
    'past_due_since',
    'last_event_created',
  ];
}
