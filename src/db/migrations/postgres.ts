import { type Kysely, sql } from 'kysely';

/** PostgreSQL 14 or later built with lz4: the settings list it as a TOAST compression method. */
export async function postgresSupportsLz4(db: Kysely<any>): Promise<boolean> {
  const { rows } = await sql<{ supported: boolean }>`
    select exists (select 1 from pg_settings where name = 'default_toast_compression' and 'lz4' = any(enumvals)) as supported`.execute(db);
  return rows[0]?.supported === true;
}
