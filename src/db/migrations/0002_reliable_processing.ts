import type { Kysely, Migration } from 'kysely';

/** Leases, per-key ordering and the SQLite worker lock. */
export const reliableProcessing: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('webhook_events').addColumn('ordering_key', 'text').execute();
    await db.schema.alterTable('webhook_events').addColumn('locked_by', 'text').execute();
    await db.schema.alterTable('webhook_events').addColumn('lease_until', 'bigint').execute();
    await db.schema.createIndex('webhook_events_ordering').on('webhook_events').columns(['ordering_key', 'status', 'created']).execute();
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
};
