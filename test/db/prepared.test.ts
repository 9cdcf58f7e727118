import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { rowsForTokenHash } from '../../src/entitlements/index.js';
import { createUser, hashToken } from '../../src/users/index.js';
import { usePostgresStore } from '../helpers/store.js';

describe('hot queries on PostgreSQL', () => {
  const context = usePostgresStore();

  it('run the entitlement lookup as a named prepared statement, with the same answers', async () => {
    const { userId, token } = await createUser(context.store.db);
    // One query at a time: the pool hands back the same idle connection, whose session is inspected.
    expect((await rowsForTokenHash(context.store.db, hashToken(token))).map((r) => r.user_id)).toEqual([userId]);
    expect(await rowsForTokenHash(context.store.db, hashToken('an unknown token'))).toEqual([]);
    const { rows } = await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements`.execute(context.store.db);
    expect(rows).toEqual([expect.objectContaining({ name: expect.stringMatching(/^hot_query_\d+$/), statement: expect.stringContaining('"users"."token_hash" = any($1)') })]);
  });

  it('leave every other query unprepared', async () => {
    await context.store.db.selectFrom('users').select('id').where('id', '=', 'nobody').execute();
    const { rows } = await sql<{ name: string }>`select name from pg_prepared_statements`.execute(context.store.db);
    expect(rows.map((r) => r.name)).toEqual([expect.stringMatching(/^hot_query_\d+$/)]);
  });
});
