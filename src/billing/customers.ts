import type { Kysely } from 'kysely';
import type Stripe from 'stripe';
import type { Database, Store } from '../db/index.js';
import { linkNewCustomer } from '../subscriptions/index.js';
import { customerIdempotencyKey } from './decide.js';

/** The user's Stripe customer: the most recently linked one that is not deleted. */
export async function customerOfUser(db: Kysely<Database>, userId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('customers')
    .select('id')
    .where('user_id', '=', userId)
    .where('deleted', '=', 0)
    .orderBy('updated_at', 'desc')
    .executeTakeFirst();
  return row?.id;
}

/** Statuses of every subscription stored for the user's customers. */
export async function subscriptionStatusesOfUser(db: Kysely<Database>, userId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('subscriptions')
    .innerJoin('customers', 'customers.id', 'subscriptions.customer_id')
    .select('subscriptions.status')
    .where('customers.user_id', '=', userId)
    .execute();
  return rows.map((r) => r.status);
}

/**
 * The user's customer, created in Stripe (with `metadata.user_id`) when there is none yet. The
 * idempotency key makes concurrent or repeated first checkouts of one user share one customer;
 * the link is stored at once, with the first-link-wins rule of sync.
 */
export async function ensureCustomer(
  stripe: Stripe,
  store: Store,
  userId: string,
  onRetry?: (error: Error) => void,
): Promise<{ id: string; created: boolean }> {
  const existing = await customerOfUser(store.db, userId);
  if (existing) return { id: existing, created: false };
  const customer = await stripe.customers.create({ metadata: { user_id: userId } }, { idempotencyKey: customerIdempotencyKey(userId) });
  await linkNewCustomer(store, customer.id, userId, { onRetry });
  return { id: customer.id, created: true };
}
