import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.js';
import type { Store } from './store.js';

/**
 * Runs `work` in a transaction that will write. SQLite takes the write lock at once (`BEGIN
 * IMMEDIATE`): a transaction that read first could not write after another process (intake)
 * wrote behind it (SQLITE_BUSY without waiting). Rolls back when `work` throws.
 */
export async function inWriteTransaction<T>(store: Store, work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  return store.db.connection().execute(async (db) => {
    await sql.raw(store.dialect === 'sqlite' ? 'begin immediate' : 'begin').execute(db);
    try {
      const result = await work(db);
      await sql`commit`.execute(db);
      return result;
    } catch (error) {
      await sql`rollback`.execute(db).catch(() => {});
      throw error;
    }
  });
}
