import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../../src/db/index.js';
import { linkCustomerToUser } from '../../../src/subscriptions/event-types/link.js';
import { applyChange } from '../../../src/subscriptions/records/index.js';
import { createPostgresDatabase, type TestDatabase } from '../../helpers/databases.js';
import { newId, nowSeconds, subscriptionEvent } from '../../helpers/events.js';
import { addUsers, drain, store } from '../../helpers/sync.js';

/** A customer linked by another connection after a transaction read it: the transaction is run again and reads that link. */
describe('a customer linked meanwhile, on PostgreSQL', () => {
  let database: TestDatabase;
  let db: Store;
  let other: Store;
  beforeAll(async () => {
    database = await createPostgresDatabase();
    db = await openStore(database.url);
    other = await openStore(database.url);
  });
  afterAll(async () => {
    await other?.close();
    await db?.close();
    await database?.drop();
  });

  const linkElsewhere = (customerId: string, userId: string) =>
    other.db
      .insertInto('customers')
      .values({ id: customerId, user_id: userId, linked_by: 'elsewhere', deleted: 0, updated_at: Date.now() })
      .execute();

  it('an event alone is applied again at once: the first link wins, with a warning, in one recorded attempt', async () => {
    const [user, firstUser] = [newId('usr'), newId('usr')] as const;
    await addUsers(db, [user, firstUser]);
    const event = subscriptionEvent(
      'created',
      { id: newId('sub'), customer: newId('cus'), status: 'active', userId: user },
      nowSeconds() - 100,
    );
    await store(db, [event]);
    const fallbacks: { reason: string; events: number }[] = [];
    let linked = false;
    const calls = await drain(db, {
      eventsPerTransaction: 1,
      onGroupFallback: (fallback) => fallbacks.push(fallback),
      afterApply: async () => {
        if (linked) return;
        linked = true;
        await linkElsewhere(event.data.object.customer, firstUser);
      },
    });
    expect(calls.get(event.id)).toBe(2);
    expect(fallbacks).toEqual([{ reason: 'group_failed', events: 1 }]);
    const row = await db.db
      .selectFrom('webhook_events')
      .select(['status', 'outcome', 'attempts'])
      .where('id', '=', event.id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'applied', attempts: 1 });
    expect(row.outcome).toMatch(/recorded as active/);
    const customer = await db.db
      .selectFrom('customers')
      .select(['user_id', 'linked_by'])
      .where('id', '=', event.data.object.customer)
      .executeTakeFirstOrThrow();
    expect(customer).toEqual({ user_id: firstUser, linked_by: 'elsewhere' });
    const attempts = await db.db.selectFrom('event_attempts').select('outcome').where('event_id', '=', event.id).execute();
    expect(attempts).toEqual([{ outcome: 'applied' }]);
  });

  it('a change outside the worker is run again, told to onRetry, and then sees the link', async () => {
    const [user, firstUser, customerId] = [newId('usr'), newId('usr'), newId('cus')] as const;
    await addUsers(db, [user, firstUser]);
    const retries: string[] = [];
    let runs = 0;
    const result = await applyChange(
      db,
      { customers: [customerId] },
      async (records) => {
        runs++;
        const linkedNow = await linkCustomerToUser(records, customerId, user, 'test:change');
        if (runs === 1) await linkElsewhere(customerId, firstUser);
        return linkedNow;
      },
      { onRetry: (error) => retries.push(error.name) },
    );
    expect(runs).toBe(2);
    expect(retries).toEqual(['LinkedMeanwhileError']);
    expect(result.warning).toMatch(new RegExp(`belongs to user ${firstUser}`));
    const customer = await db.db.selectFrom('customers').select('user_id').where('id', '=', customerId).executeTakeFirstOrThrow();
    expect(customer.user_id).toBe(firstUser);
  });
});
