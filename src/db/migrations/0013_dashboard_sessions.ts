import type { Kysely, Migration } from 'kysely';

/**
 * Operator sessions of the dashboard, in the database so that every instance behind a load
 * balancer knows them. Only the SHA-256 of a session id is kept: a copy of the table does not
 * let anyone in. An event's page shows the record changes the event made: an index finds them.
 */
export const dashboardSessions = (isPostgres: boolean): Migration => ({
  async up(db: Kysely<any>) {
    const bigint = isPostgres ? 'bigint' : 'integer';
    await db.schema
      .createTable('dashboard_sessions')
      .addColumn('id_hash', 'text', (c) => c.primaryKey())
      .addColumn('csrf_token', 'text', (c) => c.notNull())
      .addColumn('created_at', bigint, (c) => c.notNull())
      .addColumn('expires_at', bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('subscription_history_event').on('subscription_history').column('event_id').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('subscription_history_event').execute();
    await db.schema.dropTable('dashboard_sessions').execute();
  },
});
