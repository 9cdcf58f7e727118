import { describe, expect, it } from 'vitest';
import { rowsForTokenHash } from '../../src/entitlements/index.js';
import { hashToken } from '../../src/users/index.js';
import { BACKENDS } from '../helpers/databases.js';
import { newId } from '../helpers/events.js';
import { useService } from '../helpers/service.js';
import { createUser } from '../helpers/users.js';

describe.each(BACKENDS)('entitlement lookups by token on $name', (backend) => {
  const context = useService(backend, { config: { processRole: 'intake' } });

  async function subscribe(userId: string, subscriptionIds: string[]) {
    const customerId = newId('cus');
    const { db } = context.svc.store;
    await db.insertInto('customers').values({ id: customerId, user_id: userId, deleted: 0, updated_at: Date.now() }).execute();
    for (const id of subscriptionIds) {
      await db
        .insertInto('subscriptions')
        .values({
          ...{
            id,
            customer_id: customerId,
            status: 'active',
            price_id: null,
            product_id: null,
            current_period_start: null,
            current_period_end: null,
          },
          ...{
            cancel_at_period_end: 0,
            cancel_at: null,
            canceled_at: null,
            ended_at: null,
            trial_end: null,
            past_due_since: null,
            synced_at: null,
          },
          ...{
            last_event_id: newId('evt'),
            last_event_type: 'customer.subscription.created',
            last_event_created: 1,
            updated_at: Date.now(),
          },
        })
        .execute();
    }
  }

  it('checks that arrive together each get only their own rows', async () => {
    const [one, two, none] = [
      await createUser(context.svc.baseUrl),
      await createUser(context.svc.baseUrl),
      await createUser(context.svc.baseUrl),
    ];
    const subscriptions = { one: [newId('sub'), newId('sub')], two: [newId('sub')] };
    await subscribe(one.userId, subscriptions.one);
    await subscribe(two.userId, subscriptions.two);
    const tokens = [one.token, two.token, one.token, 'an unknown token', none.token, two.token];
    const answers = await Promise.all(tokens.map((token) => rowsForTokenHash(context.svc.store.db, hashToken(token))));
    const described = answers.map((rows) => rows.map((r) => `${r.user_id}:${r.id}`).sort());
    const of = (userId: string, ids: (string | null)[]) => ids.map((id) => `${userId}:${id}`).sort();
    expect(described).toEqual([
      of(one.userId, subscriptions.one),
      of(two.userId, subscriptions.two),
      of(one.userId, subscriptions.one),
      [],
      of(none.userId, [null]),
      of(two.userId, subscriptions.two),
    ]);
  });
});
