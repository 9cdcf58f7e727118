import { CompiledQuery, type Kysely } from 'kysely';
import {
  type Database,
  type NewSubscriptionHistoryRow,
  preparedOnPostgres,
  type SubscriptionObservationRow,
  type SubscriptionPaymentsRow,
  type SubscriptionRow,
} from '../../db/index.js';
import { attemptRow, type Completion, type FinishedEvent, LeaseLostError } from '../queue.js';
import { type CustomerLink, latestOfEach, type RecordWrites } from './rows.js';
import { LinkedMeanwhileError, writeCustomerChanges } from './statements.js';

/**
 * PostgreSQL's writer: a transaction's rows and its events' completion as one statement
 * (`GROUP_WRITE`), since on a 2-core host the worker's drain was bound by its round trips, a
 * `writev` and a wake-up of the server each. Customer deletions and entitlement summaries (rare)
 * go first, a statement each.
 */
export async function writeOnPostgres(db: Kysely<Database>, writes: RecordWrites, completion: Completion): Promise<void> {
  await writeCustomerChanges(db, writes);
  const { deletions: _, features: __, emails: ___, ...grouped } = writes;
  if (completion.finished.length === 0 && completion.attempts.length === 0 && Object.values(grouped).every((rows) => rows.length === 0))
    return;
  // In the order of their numbers in GROUP_WRITE.
  const parameters = [
    ...columnsOf(writes.observations, OBSERVATION_COLUMNS),
    ...columnsOf(latestOfEach(writes.subscriptions, 'id'), SUBSCRIPTION_COLUMNS),
    ...columnsOf(latestOfEach(writes.payments, 'subscription_id'), PAYMENT_COLUMNS),
    ...columnsOf(writes.history, HISTORY_COLUMNS),
    ...columnsOf(writes.links, LINK_COLUMNS),
    completion.now,
    ...columnsOf(completion.finished, FINISHED_COLUMNS),
    completion.owner,
    ...columnsOf(completion.attempts.map(attemptRow), ATTEMPT_COLUMNS),
  ];
  const { rows } = await db.executeQuery<{ linked: number; finished: number }>(
    preparedOnPostgres(CompiledQuery.raw(GROUP_WRITE, parameters)),
  );
  const [{ linked, finished }] = rows as [{ linked: number; finished: number }];
  if (linked < writes.links.length) throw new LinkedMeanwhileError();
  if (finished < completion.finished.length) throw new LeaseLostError();
}

type ColumnType = 'text' | 'bigint' | 'integer';
type Column = readonly [name: string, type: ColumnType];

/**
 * A table's columns as written here, with their PostgreSQL types. The type makes it name every
 * column of the row type the other writers use and no other, so that a column added to the schema
 * cannot be written on SQLite and silently dropped here.
 */
const columns = <Row>(types: Record<keyof Row & string, ColumnType>): readonly Column[] => Object.entries(types) as [string, ColumnType][];

/** One array per column, in the columns' order: the parameters `unnest` turns back into rows. */
function columnsOf(rows: readonly object[], columns: readonly Column[]): unknown[][] {
  return columns.map(([name]) => rows.map((row) => (row as Record<string, unknown>)[name] ?? null));
}

const OBSERVATION_COLUMNS = columns<SubscriptionObservationRow>({
  subscription_id: 'text',
  event_id: 'text',
  event_created: 'bigint',
  status: 'text',
});
const SUBSCRIPTION_COLUMNS = columns<SubscriptionRow>({
  id: 'text',
  customer_id: 'text',
  status: 'text',
  price_id: 'text',
  product_id: 'text',
  current_period_start: 'bigint',
  current_period_end: 'bigint',
  cancel_at_period_end: 'integer',
  cancel_at: 'bigint',
  canceled_at: 'bigint',
  ended_at: 'bigint',
  trial_end: 'bigint',
  past_due_since: 'bigint',
  last_event_id: 'text',
  last_event_type: 'text',
  last_event_created: 'bigint',
  synced_at: 'bigint',
  updated_at: 'bigint',
});
const PAYMENT_COLUMNS = columns<SubscriptionPaymentsRow>({
  subscription_id: 'text',
  last_payment_succeeded_at: 'bigint',
  last_payment_failed_at: 'bigint',
  last_invoice_id: 'text',
  updated_at: 'bigint',
});
const HISTORY_COLUMNS = columns<Omit<NewSubscriptionHistoryRow, 'id'>>({
  subscription_id: 'text',
  event_id: 'text',
  event_type: 'text',
  event_created: 'bigint',
  applied_at: 'bigint',
  status_before: 'text',
  status_after: 'text',
  changes: 'text',
});
const LINK_COLUMNS = columns<CustomerLink>({ id: 'text', user_id: 'text', linked_by: 'text', deleted: 'integer', updated_at: 'bigint' });
const FINISHED_COLUMNS = columns<FinishedEvent>({ id: 'text', status: 'text', outcome: 'text' });
const ATTEMPT_COLUMNS = columns<Omit<ReturnType<typeof attemptRow>, 'id'>>({
  event_id: 'text',
  attempt: 'integer',
  worker: 'text',
  started_at: 'bigint',
  finished_at: 'bigint',
  outcome: 'text',
  error: 'text',
});

/** Numbers the parameters of the statement in the order `writeOnPostgres` passes them. */
class Parameters {
  private next = 1;

  /** `unnest($n::type[], …) as alias (columns)`: one array parameter per column. */
  rows(columns: readonly Column[], alias: string): string {
    const arrays = columns.map(([, type]) => `$${this.next++}::${type}[]`).join(', ');
    return `unnest(${arrays}) as ${alias} (${names(columns)})`;
  }

  one(type: string): string {
    return `$${this.next++}::${type}`;
  }
}

const names = (columns: readonly Column[]) => columns.map(([name]) => name).join(', ');
const updateAll = (columns: readonly Column[], key: string) =>
  columns
    .filter(([name]) => name !== key)
    .map(([name]) => `${name} = excluded.${name}`)
    .join(', ');

/**
 * The rows of every table as one array per column, so that one text (a named prepared statement,
 * parsed once per connection) serves every group. The parts touch different tables, so running
 * them side by side in one snapshot changes nothing. It answers how many customers it linked (a
 * customer linked by another transaction meanwhile is not) and how many events it finished (not
 * those whose lease this worker lost).
 */
const GROUP_WRITE = (() => {
  const p = new Parameters();
  const insert = (table: string, columns: readonly Column[]) =>
    `insert into ${table} (${names(columns)}) select ${names(columns)} from ${p.rows(columns, 'r')}`;
  return `
    with observations as (
      ${insert('subscription_observations', OBSERVATION_COLUMNS)} on conflict (subscription_id, event_id) do nothing
    ), subscriptions as (
      ${insert('subscriptions', SUBSCRIPTION_COLUMNS)} on conflict (id) do update set ${updateAll(SUBSCRIPTION_COLUMNS, 'id')}
    ), payments as (
      ${insert('subscription_payments', PAYMENT_COLUMNS)} on conflict (subscription_id) do update set ${updateAll(PAYMENT_COLUMNS, 'subscription_id')}
    ), history as (
      ${insert('subscription_history', HISTORY_COLUMNS)}
    ), links as (
      ${insert('customers', LINK_COLUMNS)}
      on conflict (id) do update set user_id = excluded.user_id, linked_by = excluded.linked_by, updated_at = excluded.updated_at
      where customers.user_id is null
      returning 1
    ), finished as (
      update webhook_events e
      set status = f.status, outcome = f.outcome, processed_at = ${p.one('bigint')}, last_error = null, next_attempt_at = null, locked_by = null, lease_until = null
      from ${p.rows(FINISHED_COLUMNS, 'f')}
      where e.id = f.id and e.locked_by = ${p.one('text')} and e.status = 'processing'
      returning 1
    ), attempts as (
      ${insert('event_attempts', ATTEMPT_COLUMNS)}
    )
    select (select count(*) from links) as linked, (select count(*) from finished) as finished`;
})();
