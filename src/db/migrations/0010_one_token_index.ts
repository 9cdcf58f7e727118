import { type Kysely, type Migration, sql } from 'kysely';

/**
 * PostgreSQL: users had two indexes on token_hash, the UNIQUE constraint of 0001 and the
 * `(token_hash, id)` index of 0006 that lets a check read the user's id from the index alone.
 * One unique index that includes the id does both, and a sign-up writes one entry less.
 * SQLite keeps both: it cannot drop a constraint's index without rebuilding the table, and it has
 * no INCLUDE, so a unique index there would still lack the id.
 */
export const oneTokenIndex = (isPostgres: boolean): Migration => ({
  async up(db: Kysely<any>) {
    if (!isPostgres) return;
    await db.schema.dropIndex('users_token_lookup').execute();
    await sql`create unique index users_token_lookup on users (token_hash) include (id)`.execute(db);
    await sql`alter table users drop constraint users_token_hash_key`.execute(db);
  },
  async down(db: Kysely<any>) {
    if (!isPostgres) return;
    await sql`alter table users add constraint users_token_hash_key unique (token_hash)`.execute(db);
    await db.schema.dropIndex('users_token_lookup').execute();
    await db.schema.createIndex('users_token_lookup').on('users').columns(['token_hash', 'id']).execute();
  },
});
