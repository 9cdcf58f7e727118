import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';

/** Migrations live in code so one build serves both dialects; `isPostgres` picks the few dialect-specific bits. */
function migrations(isPostgres: boolean): Record<string, Migration> {
  return {
    '0001_core': {
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
        await db.schema
          .createIndex('webhook_events_queue')
          .on('webhook_events')
          .columns(['status', 'next_attempt_at', 'created'])
          .execute();

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
          .addColumn('id', isPostgres ? 'bigserial' : 'integer', (c) =>
            isPostgres ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
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
        for (const table of ['subscription_payments', 'subscription_observations', 'subscription_history', 'subscriptions', 'customers', 'webhook_events', 'users']) {
          await db.schema.dropTable(table).ifExists().execute();
        }
      },
    },
    '0002_reliable_processing': {
      async up(db: Kysely<any>) {
        await db.schema
          .alterTable('webhook_events')
          .addColumn('ordering_key', 'text')
          .execute();
        await db.schema.alterTable('webhook_events').addColumn('locked_by', 'text').execute();
        await db.schema.alterTable('webhook_events').addColumn('lease_until', 'bigint').execute();
        await db.schema
          .createIndex('webhook_events_ordering')
          .on('webhook_events')
          .columns(['ordering_key', 'status', 'created'])
          .execute();
        await db.schema.createIndex('webhook_events_received').on('webhook_events').column('received_at').execute();

        await db.schema
          .createTable('worker_locks')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('owner', 'text', (c) => c.notNull())
          .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
          .execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropTable('worker_locks').ifExists().execute();
        await db.schema.dropIndex('webhook_events_received').ifExists().execute();
        await db.schema.dropIndex('webhook_events_ordering').ifExists().execute();
        for (const column of ['lease_until', 'locked_by', 'ordering_key']) {
          await db.schema.alterTable('webhook_events').dropColumn(column).execute();
        }
      },
    },
    '0003_event_attempts': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('event_attempts')
          .addColumn('id', isPostgres ? 'bigserial' : 'integer', (c) => (isPostgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('event_id', 'text', (c) => c.notNull())
          .addColumn('attempt', 'integer', (c) => c.notNull())
          .addColumn('worker', 'text', (c) => c.notNull())
          .addColumn('started_at', 'bigint', (c) => c.notNull())
          .addColumn('finished_at', 'bigint', (c) => c.notNull())
          .addColumn('outcome', 'text', (c) => c.notNull())
          .addColumn('error', 'text')
          .execute();
        await db.schema.createIndex('event_attempts_event').on('event_attempts').columns(['event_id', 'id']).execute();
        await db.schema.createIndex('event_attempts_finished').on('event_attempts').columns(['finished_at', 'outcome']).execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropTable('event_attempts').ifExists().execute();
      },
    },
    '0004_fetched_state': {
      async up(db: Kysely<any>) {
        // When the stored state was read from Stripe's API (ms); an older read never overwrites a newer one.
        await db.schema.alterTable('subscriptions').addColumn('synced_at', 'bigint').execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.alterTable('subscriptions').dropColumn('synced_at').execute();
      },
    },
    '0005_claim_order': {
      async up(db: Kysely<any>) {
        // The claim walks each status in queue order and stops at its limit, instead of sorting every waiting event.
        await db.schema.createIndex('webhook_events_claim').on('webhook_events').columns(['status', 'created', 'received_at']).execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropIndex('webhook_events_claim').ifExists().execute();
      },
    },
    '0006_token_lookup': {
      async up(db: Kysely<any>) {
        // An entitlement check finds the user by token hash in the index alone (no table read for its id).
        await db.schema.createIndex('users_token_lookup').on('users').columns(['token_hash', 'id']).execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropIndex('users_token_lookup').ifExists().execute();
      },
    },
    '0007_payload_lz4': {
      async up(db: Kysely<any>) {
        // PostgreSQL compresses each ~4 KB payload as it stores it; lz4 costs a fraction of the
        // default pglz (a batch of 31 deliveries: 2.55 → 1.79 ms). Servers without lz4 keep pglz.
        if (isPostgres && (await postgresSupportsLz4(db))) {
          await sql`alter table webhook_events alter column payload set compression lz4`.execute(db);
        }
      },
      async down(db: Kysely<any>) {
        if (isPostgres && (await postgresSupportsLz4(db))) {
          await sql`alter table webhook_events alter column payload set compression pglz`.execute(db);
        }
      },
    },
    '0008_check_covering_indexes': {
      async up(db: Kysely<any>) {
        // SQLite: the customer and subscription indexes an entitlement check walks also carry every
        // column it reads, so a check reads no table page, which at 1M users is mostly a page
        // missing from the cache (1M users, 64 in flight: 14,624 → 15,453 checks/s). They replace
        // the narrower indexes they extend. PostgreSQL keeps those: its check is as fast at 1M
        // users as at 10k, and processing, which pays for the wider entries, has its least margin there.
        if (isPostgres) return;
        await db.schema.createIndex('customers_user_check').on('customers').columns(['user_id', 'id', 'features']).execute();
        await db.schema.dropIndex('customers_user').execute();
        await db.schema
          .createIndex('subscriptions_customer_check')
          .on('subscriptions')
          .columns(['customer_id', 'id', 'status', 'price_id', 'product_id', 'current_period_end', 'cancel_at_period_end', 'cancel_at', 'past_due_since', 'last_event_created'])
          .execute();
        await db.schema.dropIndex('subscriptions_customer').execute();
      },
      async down(db: Kysely<any>) {
        if (isPostgres) return;
        await db.schema.createIndex('customers_user').on('customers').column('user_id').execute();
        await db.schema.dropIndex('customers_user_check').execute();
        await db.schema.createIndex('subscriptions_customer').on('subscriptions').column('customer_id').execute();
        await db.schema.dropIndex('subscriptions_customer_check').execute();
      },
    },
    '0009_event_payloads': {
      async up(db: Kysely<any>) {
        // The raw payload (~4 KB) moves out of webhook_events into a table written once and only
        // read: claiming and finishing an event rewrite its queue row, and with the payload in it
        // SQLite rewrote the whole record and its overflow page twice per event.
        await db.schema
          .createTable('webhook_event_payloads')
          .addColumn('event_id', 'text', (c) => c.primaryKey())
          .addColumn('payload', 'text', (c) => c.notNull())
          .execute();
        if (isPostgres) {
          // Compressed, a payload (~2.3 KB) still fits its page: keep it there (MAIN) rather than in
          // the TOAST table, which costs intake a second row and index entry per event.
          await sql`alter table webhook_event_payloads alter column payload set storage main`.execute(db);
          if (await postgresSupportsLz4(db)) await sql`alter table webhook_event_payloads alter column payload set compression lz4`.execute(db);
        }
        await sql`insert into webhook_event_payloads (event_id, payload) select id, payload from webhook_events`.execute(db);
        await db.schema.alterTable('webhook_events').dropColumn('payload').execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.alterTable('webhook_events').addColumn('payload', 'text', (c) => c.notNull().defaultTo('')).execute();
        await sql`update webhook_events set payload = (select p.payload from webhook_event_payloads p where p.event_id = webhook_events.id)
          where exists (select 1 from webhook_event_payloads p where p.event_id = webhook_events.id)`.execute(db);
        await db.schema.dropTable('webhook_event_payloads').execute();
      },
    },
  };
}

/** PostgreSQL 14 or later built with lz4: the settings list it as a TOAST compression method. */
async function postgresSupportsLz4(db: Kysely<any>): Promise<boolean> {
  const { rows } = await sql<{ supported: boolean }>`
    select exists (select 1 from pg_settings where name = 'default_toast_compression' and 'lz4' = any(enumvals)) as supported`.execute(db);
  return rows[0]?.supported === true;
}

class InCodeMigrations implements MigrationProvider {
  constructor(private readonly isPostgres: boolean) {}
  async getMigrations() {
    return migrations(this.isPostgres);
  }
}

/**
 * Applies every pending migration, or those up to `upTo` (a migration's name); throws with the
 * failing migration's error. Kysely's migrator takes a database-level lock, so several instances
 * may start at once.
 */
export async function migrateToLatest(db: Kysely<any>, isPostgres: boolean, upTo?: string): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new InCodeMigrations(isPostgres) });
  const { error, results } = upTo === undefined ? await migrator.migrateToLatest() : await migrator.migrateTo(upTo);
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
