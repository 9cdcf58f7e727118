import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/db/index.js';
import { rowsByTokenHashes } from '../../src/entitlements/index.js';
import { createSqliteDatabase, type TestDatabase } from '../helpers/databases.js';

describe('SQLite planner statistics', () => {
  let database: TestDatabase;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    await database?.drop();
  });

  async function storeWithUsers(count: number): Promise<Store> {
    database = await createSqliteDatabase();
    const seeding = await openStore(database.url);
    const now = Date.now();
    try {
      for (let i = 0; i < count; i++) {
        await seeding.db
          .insertInto('users')
          .values({ id: `usr_${i}`, token_hash: `hash_${i}`, created_at: now })
          .execute();
        await seeding.db
          .insertInto('customers')
          .values({ id: `cus_${i}`, user_id: `usr_${i}`, deleted: 0, updated_at: now })
          .execute();
      }
    } finally {
      await seeding.close();
    }
    return openStore(database.url);
  }

  it('are gathered again when the store opens, for tables that grew since they were analysed', async () => {
    store = await storeWithUsers(200);
    const { rows } = await sql<{ idx: string; stat: string }>`select idx, stat from sqlite_stat1 where tbl = 'users' order by idx`.execute(
      store.db,
    );
    expect(rows.map((r) => r.idx)).toContain('users_token_lookup');
    expect(rows.find((r) => r.idx === 'users_token_lookup')?.stat).toMatch(/^200 /);
  });

  it("let an entitlement check read only indexes: the user, its account's users, their customers and subscriptions", async () => {
    store = await storeWithUsers(200);
    const lookup = rowsByTokenHashes(store.db, 'sqlite');
    const { rows } = await store.db.executeQuery<{ detail: string }>({
      ...lookup,
      sql: `explain query plan ${lookup.sql}`,
      parameters: ['[]'],
    });
    const searches = rows.map((r) => r.detail).filter((detail) => detail.startsWith('SEARCH'));
    expect(searches.map((detail) => detail.split(' ')[1])).toEqual(['users', 'members', 'customers', 'subscriptions']);
    for (const detail of searches) expect(detail).toContain('USING COVERING INDEX');
  });
});
