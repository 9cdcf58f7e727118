import { type Kysely, type Migration, sql } from 'kysely';
import { postgresSupportsLz4 } from './postgres.js';

export const eventPayloads = (isPostgres: boolean): Migration => ({
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
    await db.schema
      .alterTable('webhook_events')
      .addColumn('payload', 'text', (c) => c.notNull().defaultTo(''))
      .execute();
    await sql`update webhook_events set payload = (select p.payload from webhook_event_payloads p where p.event_id = webhook_events.id)
      where exists (select 1 from webhook_event_payloads p where p.event_id = webhook_events.id)`.execute(db);
    await db.schema.dropTable('webhook_event_payloads').execute();
  },
});
