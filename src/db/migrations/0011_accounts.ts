import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Restore by emailed code: an install's user may act for an account (`users.account_id`, null
 * when it is its own); the email each account verified; the codes sent, only as hashes; and the
 * email Stripe has for each customer, with the `created` of the event that said it. A check reads
 * the token's user and its account's members from indexes alone: the token index carries
 * `account_id`, and members are found by `(account_id, id)`.
 */
export const accounts = (isPostgres: boolean): Migration => ({
  async up(db: Kysely<any>) {
    const bigint = isPostgres ? 'bigint' : 'integer';
    await db.schema.alterTable('users').addColumn('account_id', 'text').execute();
    // Partial: most users act for themselves (null), and an index of nulls would look useless to the planner.
    await sql`create index users_account on users (account_id, id) where account_id is not null`.execute(db);
    await db.schema.dropIndex('users_token_lookup').execute();
    if (isPostgres) await sql`create unique index users_token_lookup on users (token_hash) include (id, account_id)`.execute(db);
    else await db.schema.createIndex('users_token_lookup').on('users').columns(['token_hash', 'id', 'account_id']).execute();
    await db.schema.alterTable('customers').addColumn('email', 'text').execute();
    await db.schema.alterTable('customers').addColumn('email_event_created', bigint).execute();
    await db.schema.createIndex('customers_email').on('customers').columns(['email', 'user_id']).execute();
    await db.schema
      .createTable('account_emails')
      .addColumn('email', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('verified_at', bigint, (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('email_codes')
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('code_hash', 'text', (c) => c.notNull())
      .addColumn('expires_at', bigint, (c) => c.notNull())
      .addColumn('failed_attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('email_codes_pk', ['email', 'user_id'])
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('email_codes').execute();
    await db.schema.dropTable('account_emails').execute();
    await db.schema.dropIndex('customers_email').execute();
    await db.schema.alterTable('customers').dropColumn('email_event_created').execute();
    await db.schema.alterTable('customers').dropColumn('email').execute();
    await db.schema.dropIndex('users_account').execute();
    await db.schema.dropIndex('users_token_lookup').execute();
    if (isPostgres) await sql`create unique index users_token_lookup on users (token_hash) include (id)`.execute(db);
    else await db.schema.createIndex('users_token_lookup').on('users').columns(['token_hash', 'id']).execute();
    await db.schema.alterTable('users').dropColumn('account_id').execute();
  },
});
