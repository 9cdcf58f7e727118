import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { rowsForTokenHash } from '../../src/entitlements/index.js';
import { noWrites, observationRow } from '../../src/subscriptions/records/rows.js';
import { writeOnPostgres } from '../../src/subscriptions/records/write-postgres.js';
import { createUser, hashToken } from '../../src/users/index.js';
import { usePostgresStore } from '../helpers/store.js';

describe('hot queries on PostgreSQL', () => {
  const context = usePostgresStore();

  it('run the entitlement lookup as a named prepared statement, with the same answers', async () => {
    const { userId, token } = await createUser(context.store.db);
    // One query at a time: the pool hands back the same idle connection, whose session is inspected.
    expect((await rowsForTokenHash(context.store.db, hashToken(token))).map((r) => r.user_id)).toEqual([userId]);
    expect(await rowsForTokenHash(context.store.db, hashToken('an unknown token'))).toEqual([]);
    const { rows } = await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements`.execute(
      context.store.db,
    );
    expect(rows).toEqual([
      expect.objectContaining({
        name: expect.stringMatching(/^hot_query_\d+$/),
        statement: expect.stringContaining('"users"."token_hash" = any($1)'),
      }),
    ]);
  });

  it("write a worker group's rows and finish its events in one named prepared statement, whatever the group's size", async () => {
    const { db } = context.store;
    const observations = (ids: number[]) =>
      ids.map((i) => observationRow(`sub_group_${i}`, { eventId: `evt_group_${i}`, created: i, status: 'active' }));
    const nothingToFinish = { owner: 'worker', now: 1, finished: [], attempts: [] };
    await writeOnPostgres(db, { ...noWrites(), observations: observations([1]) }, nothingToFinish);
    await writeOnPostgres(db, { ...noWrites(), observations: observations([2, 3, 4]) }, nothingToFinish);
    const { rows } = await sql<{
      name: string;
    }>`select name from pg_prepared_statements where statement like '%with observations as%'`.execute(db);
    expect(rows).toEqual([{ name: expect.stringMatching(/^hot_query_\d+$/) }]);
    const stored = await db
      .selectFrom('subscription_observations')
      .select('event_id')
      .where('subscription_id', 'like', 'sub_group_%')
      .orderBy('event_id')
      .execute();
    expect(stored.map((r) => r.event_id)).toEqual(['evt_group_1', 'evt_group_2', 'evt_group_3', 'evt_group_4']);
  });

  it('leave every other query unprepared', async () => {
    const { db } = context.store;
    const preparedNames = async () =>
      (await sql<{ name: string }>`select name from pg_prepared_statements order by name`.execute(db)).rows.map((r) => r.name);
    const before = await preparedNames();
    await db.selectFrom('users').select('id').where('id', '=', 'nobody').execute();
    await db.insertInto('users').values({ id: 'usr_unprepared', token_hash: 'not a real hash', created_at: 1 }).execute();
    expect(await preparedNames()).toEqual(before);
    expect(before).toEqual(before.map(() => expect.stringMatching(/^hot_query_\d+$/)));
  });
});
