import type { Kysely, Migration } from 'kysely';

/** One row per processing attempt, for the admin API and the CLI. */
export const eventAttempts = (isPostgres: boolean): Migration => ({
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
});
