import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/index.js';
import { type Completion, type FinishedEvent, LeaseLostError, recordAttempts } from '../queue.js';
import {
  type CustomerDeletion,
  type CustomerEmail,
  type CustomerFeatures,
  type CustomerLink,
  latestOfEach,
  type RecordWrites,
} from './rows.js';

/** Another transaction linked a customer after this one read it: the write is refused, and the caller runs its events again. */
export class LinkedMeanwhileError extends Error {
  override name = 'LinkedMeanwhileError';

  constructor() {
    super('a customer was linked by another transaction meanwhile');
  }
}

/** One statement per table that has rows: SQLite's writer (see write.ts), which has no round trips to save. */
export async function writeTables(db: Kysely<Database>, writes: RecordWrites): Promise<void> {
  if (writes.observations.length > 0) {
    await db
      .insertInto('subscription_observations')
      .values(writes.observations)
      .onConflict((oc) => oc.columns(['subscription_id', 'event_id']).doNothing())
      .execute();
  }
  await upsert(db, 'subscriptions', 'id', writes.subscriptions);
  await upsert(db, 'subscription_payments', 'subscription_id', writes.payments);
  if (writes.history.length > 0) await db.insertInto('subscription_history').values(writes.history).execute();
  if ((await insertLinks(db, writes.links)) < writes.links.length) throw new LinkedMeanwhileError();
  await writeCustomerChanges(db, writes);
}

/** Links customers that are not linked yet (the concurrency re-check of "first link wins"); returns how many it linked. */
async function insertLinks(db: Kysely<Database>, links: CustomerLink[]): Promise<number> {
  if (links.length === 0) return 0;
  const linked = await db
    .insertInto('customers')
    .values(links)
    .onConflict((oc) =>
      oc
        .column('id')
        .doUpdateSet(({ ref }) => ({
          user_id: ref('excluded.user_id'),
          linked_by: ref('excluded.linked_by'),
          updated_at: ref('excluded.updated_at'),
        }))
        .where('customers.user_id', 'is', null),
    )
    .returning('id')
    .execute();
  return linked.length;
}

/** Deletions and entitlement summaries: rare, so a statement each on both databases. They touch no column a link writes. */
export async function writeCustomerChanges(
  db: Kysely<Database>,
  writes: Pick<RecordWrites, 'deletions' | 'features' | 'emails'>,
): Promise<void> {
  for (const deletion of writes.deletions) await markDeleted(db, deletion);
  for (const features of writes.features) await storeCustomerFact(db, features, 'features_event_created', features.features_event_created);
  for (const email of writes.emails) await storeCustomerFact(db, email, 'email_event_created', email.email_event_created);
}

async function markDeleted(db: Kysely<Database>, { id, updated_at }: CustomerDeletion): Promise<void> {
  await db
    .insertInto('customers')
    .values({ id, deleted: 1, updated_at })
    .onConflict((oc) => oc.column('id').doUpdateSet({ deleted: 1, updated_at }))
    .execute();
}

/**
 * A customer fact an event stated (its features, its email) with that event's `created`, unless a
 * newer event's was stored meanwhile: the concurrency re-check of decideCustomerFact.
 */
async function storeCustomerFact(
  db: Kysely<Database>,
  row: CustomerFeatures | CustomerEmail,
  createdColumn: 'features_event_created' | 'email_event_created',
  created: number | null,
): Promise<void> {
  const { id: _, ...changed } = row;
  await db
    .insertInto('customers')
    .values({ ...row, deleted: 0 })
    .onConflict((oc) =>
      oc
        .column('id')
        .doUpdateSet(changed)
        .where((eb) => eb.or([eb(`customers.${createdColumn}`, 'is', null), eb(`customers.${createdColumn}`, '<=', created)])),
    )
    .execute();
}

async function upsert<T extends 'subscriptions' | 'subscription_payments'>(
  db: Kysely<Database>,
  table: T,
  key: string,
  rows: Record<string, unknown>[],
) {
  if (rows.length === 0) return;
  await db
    .insertInto(table)
    .values(latestOfEach(rows, key) as any)
    .onConflict((oc) =>
      oc.column(key as any).doUpdateSet(
        ({ ref }) =>
          Object.fromEntries(
            Object.keys(rows[0]!)
              .filter((k) => k !== key)
              .map((k) => [k, ref(`excluded.${k}` as any)]),
          ) as any,
      ),
    )
    .execute();
}

/**
 * Marks the events finished, or throws LeaseLostError unless this worker still holds every one of
 * them (the lease re-check); then appends their attempts. SQLite's completion, last in the transaction.
 */
export async function finishEvents(db: Kysely<Database>, { owner, now, finished, attempts }: Completion): Promise<void> {
  if (finished.length > 0) {
    // Each event its own status and outcome, in one statement.
    const byEvent = <T extends string>(value: (event: FinishedEvent) => T) =>
      sql<T>`case ${sql.join(
        finished.map((event) => sql`when id = ${event.id} then ${value(event)}`),
        sql` `,
      )} end`;
    const result = await db
      .updateTable('webhook_events')
      .set({
        status: byEvent((event) => event.status),
        outcome: byEvent((event) => event.outcome),
        processed_at: now,
        last_error: null,
        next_attempt_at: null,
        locked_by: null,
        lease_until: null,
      })
      .where(
        'id',
        'in',
        finished.map((event) => event.id),
      )
      .where('locked_by', '=', owner)
      .where('status', '=', 'processing')
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) < finished.length) throw new LeaseLostError();
  }
  await recordAttempts(db, attempts);
}
