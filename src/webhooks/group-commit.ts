import { sql } from 'kysely';
import { Batcher, type NewWebhookEvent, type Store } from '../db/index.js';

/** Whether an event was newly stored, or an event with its id already was. */
export type StoreOutcome = 'stored' | 'duplicate';

/** Writes rows of distinct ids in one atomic statement or transaction; resolves the ids it newly inserted. */
export type BatchWriter = (rows: NewWebhookEvent[]) => Promise<ReadonlySet<string>>;

/**
 * The rows to write for a batch: the first row of each id. Later rows with the same id are
 * duplicates of it, whatever the database says.
 */
export function distinctRows(rows: readonly NewWebhookEvent[]): NewWebhookEvent[] {
  const seen = new Set<string>();
  return rows.filter((row) => !seen.has(row.id) && seen.add(row.id));
}

/** Each delivery's outcome: stored only for the first delivery of an id the write inserted. */
export function outcomesOf(rows: readonly NewWebhookEvent[], inserted: ReadonlySet<string>): StoreOutcome[] {
  const answered = new Set<string>();
  return rows.map((row) => {
    const first = !answered.has(row.id);
    answered.add(row.id);
    return first && inserted.has(row.id) ? 'stored' : 'duplicate';
  });
}

/**
 * Group commit for intake: deliveries that arrive while a write is in flight wait and are
 * written together in the next one, so many concurrent events share one durable commit (one
 * fsync) instead of queueing for one each. Every delivery's promise settles only after the
 * commit that holds its row: resolved when committed, rejected (→ 503) when the commit failed.
 */
export class GroupCommit {
  private readonly batcher: Batcher<NewWebhookEvent, StoreOutcome>;

  constructor(write: BatchWriter, maxBatch = 256) {
    this.batcher = new Batcher(async (rows) => outcomesOf(rows, await write(distinctRows(rows))), maxBatch);
  }

  store(row: NewWebhookEvent): Promise<StoreOutcome> {
    return this.batcher.submit(row);
  }
}

/** Every column a delivery's webhook_events row may set (see readEnvelope and asStored); its payload goes to webhook_event_payloads. */
const DELIVERY_COLUMNS = [
  'id',
  'type',
  'api_version',
  'livemode',
  'created',
  'received_at',
  'status',
  'attempts',
  'outcome',
  'processed_at',
  'ordering_key',
] as const satisfies readonly (keyof NewWebhookEvent)[];

const DELIVERY_COLUMN_SET = new Set<string>([...DELIVERY_COLUMNS, 'payload']);

type DeliveryRow = Omit<NewWebhookEvent, 'payload'>;

/**
 * The webhook_events row with every delivery column, absent ones null, so that every insert names
 * the same columns. A row with any other column is refused: the inserts would silently drop it.
 */
function deliveryRow(row: NewWebhookEvent): DeliveryRow {
  for (const column of Object.keys(row)) {
    if (!DELIVERY_COLUMN_SET.has(column)) throw new Error(`webhook_events.${column} is not written by intake; add it to DELIVERY_COLUMNS`);
  }
  return Object.fromEntries(DELIVERY_COLUMNS.map((c) => [c, row[c] ?? null])) as DeliveryRow;
}

/**
 * Writes a batch atomically, with one commit, each event's row and its payload's, the payload only
 * for ids not stored before. On PostgreSQL one statement (one round trip): the events' multi-row
 * INSERT … ON CONFLICT DO NOTHING RETURNING id feeds the payloads' insert. On SQLite one
 * transaction running single-row inserts, compiled once, per row, since building and compiling a
 * multi-row statement costs more there than the rows themselves (a batch of 31: 1.13 → 0.83 ms,
 * docs/performance.md).
 */
export function webhookEventWriter(store: Store): BatchWriter {
  const { db } = store;
  if (store.dialect === 'postgres') {
    return async (rows) => {
      const events = db
        .insertInto('webhook_events')
        .values(rows.map(deliveryRow))
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id');
      const payloads = sql.join(rows.map((row) => sql`(${row.id}, ${row.payload})`));
      const { rows: inserted } = await sql<{ event_id: string }>`
        with stored as (${events})
        insert into webhook_event_payloads (event_id, payload)
        select given.event_id, given.payload from (values ${payloads}) as given (event_id, payload)
        join stored on stored.id = given.event_id
        returning event_id`.execute(db);
      return new Set(inserted.map((r) => r.event_id));
    };
  }
  // Compiled from a row of nulls; each row's values are passed in DELIVERY_COLUMNS order.
  const insertEvent = db
    .insertInto('webhook_events')
    .values(deliveryRow({} as NewWebhookEvent))
    .onConflict((oc) => oc.column('id').doNothing())
    .compile();
  const insertPayload = db.insertInto('webhook_event_payloads').values({ event_id: '', payload: '' }).compile();
  return (rows) =>
    db.transaction().execute(async (trx) => {
      const inserted = new Set<string>();
      for (const row of rows) {
        const event = deliveryRow(row);
        const result = await trx.executeQuery({ ...insertEvent, parameters: DELIVERY_COLUMNS.map((c) => event[c]) });
        if (Number(result.numAffectedRows ?? 0) === 0) continue;
        await trx.executeQuery({ ...insertPayload, parameters: [row.id, row.payload] });
        inserted.add(row.id);
      }
      return inserted;
    });
}
