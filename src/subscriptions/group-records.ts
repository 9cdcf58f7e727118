import { type Kysely, sql } from 'kysely';
import type { Database, Dialect } from '../db/index.js';
import type { EventStamp, PaymentFacts, StatusObservation, SubscriptionRecord } from './decide.js';
import {
  type LinkResult,
  type LoadedRecords,
  loadRecords,
  lockSubscriptions,
  noWrites,
  observationRow,
  paymentWrites,
  type RecordWrites,
  statusesOf,
  subscriptionWrites,
  type SyncRecords,
  SyncRepository,
  writeRecords,
} from './repository.js';

type KnownRecords = { [K in keyof LoadedRecords]: Map<string, LoadedRecords[K]> };

/** What a group of events, or one event of it, has locked, read or changed so far, and the rows it will write. */
class RecordState {
  readonly writes = noWrites();

  constructor(
    readonly known: KnownRecords = { subscriptions: new Map(), observations: new Map(), payments: new Map() },
    readonly locked = new Set<string>(),
  ) {}

  addWrites(writes: RecordWrites): void {
    this.writes.observations.push(...writes.observations);
    this.writes.subscriptions.push(...writes.subscriptions);
    this.writes.payments.push(...writes.payments);
    this.writes.history.push(...writes.history);
  }

  /** Takes in the state of an event that succeeded, so that later events of the group see its effects. */
  absorb(event: RecordState): void {
    for (const [id, record] of event.known.subscriptions) this.known.subscriptions.set(id, record);
    for (const [id, observations] of event.known.observations) this.known.observations.set(id, observations);
    for (const [id, facts] of event.known.payments) this.known.payments.set(id, facts);
    for (const id of event.locked) this.locked.add(id);
    this.addWrites(event.writes);
  }
}

/**
 * The subscription records of a group of events applied in one transaction: locked and loaded for
 * the whole group at its start, changed by each event in turn, written together at its end.
 */
export class GroupRecords {
  private constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly now: () => number,
    private readonly state: RecordState,
  ) {}

  /**
   * Locks every subscription the group's events are about in one statement, then loads what they
   * read in one query per table: subscription events read the record and its observations,
   * invoice events the payment facts.
   */
  static async load(
    db: Kysely<Database>,
    dialect: Dialect,
    now: () => number,
    about: { subscriptionEvents: string[]; invoiceEvents: string[] },
  ): Promise<GroupRecords> {
    const ids = [...about.subscriptionEvents, ...about.invoiceEvents];
    await lockSubscriptions(db, dialect, ids);
    const known = {
      subscriptions: await loadRecords.subscriptions(db, about.subscriptionEvents),
      observations: await loadRecords.observations(db, about.subscriptionEvents),
      payments: await loadRecords.payments(db, about.invoiceEvents),
    };
    return new GroupRecords(db, dialect, now, new RecordState(known, new Set(ids)));
  }

  /** The records as the group's next event sees them. */
  forEvent(): EventRecords {
    return new EventRecords(this.state, this.db, this.dialect, this.now);
  }

  /** Writes every kept event's rows: one statement per table. */
  async write(): Promise<void> {
    await writeRecords(this.db, this.state.writes);
  }
}

/**
 * One event's view of its group's records. Reads come from the group's state; writes are kept
 * aside and join the group's only if the event succeeds (`keep`), so a failed event leaves nothing
 * behind. What the group did not load or does not buffer (customers, users, a subscription it did
 * not lock) goes to the database, after a savepoint taken before the event's first such statement,
 * which `discard` rolls back to.
 */
export class EventRecords implements SyncRecords {
  private readonly own = new RecordState();
  private savepointTaken = false;

  constructor(
    private readonly group: RecordState,
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly now: () => number,
  ) {}

  async lockSubscription(subscriptionId: string): Promise<void> {
    if (this.group.locked.has(subscriptionId) || this.own.locked.has(subscriptionId)) return;
    await (await this.repository()).lockSubscription(subscriptionId);
    this.own.locked.add(subscriptionId);
  }

  getSubscription(id: string): Promise<SubscriptionRecord | null> {
    return this.read('subscriptions', id);
  }

  async saveSubscription(before: SubscriptionRecord | null, after: SubscriptionRecord, event: EventStamp): Promise<void> {
    this.own.known.subscriptions.set(after.id, after);
    this.own.addWrites(subscriptionWrites(before, after, event, this.now()));
  }

  async observeStatus(subscriptionId: string, event: EventStamp, status: string): Promise<StatusObservation[]> {
    const seen = await this.read('observations', subscriptionId);
    if (seen.some((o) => o.event_id === event.id)) return statusesOf(seen);
    const observation = observationRow(subscriptionId, event, status);
    this.own.known.observations.set(subscriptionId, [...seen, observation]);
    this.own.addWrites({ ...noWrites(), observations: [observation] });
    return statusesOf([...seen, observation]);
  }

  getPaymentFacts(subscriptionId: string): Promise<PaymentFacts | null> {
    return this.read('payments', subscriptionId);
  }

  async savePaymentFacts(before: PaymentFacts | null, after: PaymentFacts, event: EventStamp): Promise<void> {
    this.own.known.payments.set(after.subscriptionId, after);
    this.own.addWrites(paymentWrites(before, after, event, this.now()));
  }

  async linkCustomer(customerId: string, userId: string, linkedBy: string): Promise<LinkResult> {
    return (await this.repository()).linkCustomer(customerId, userId, linkedBy);
  }

  async userExists(userId: string): Promise<boolean> {
    return (await this.repository()).userExists(userId);
  }

  async markCustomerDeleted(customerId: string): Promise<void> {
    await (await this.repository()).markCustomerDeleted(customerId);
  }

  async setCustomerFeatures(customerId: string, features: string[], eventCreated: number): Promise<boolean> {
    return (await this.repository()).setCustomerFeatures(customerId, features, eventCreated);
  }

  /** The event succeeded: its effects become the group's. */
  async keep(): Promise<void> {
    if (this.savepointTaken) await sql`release savepoint event_writes`.execute(this.db);
    this.group.absorb(this.own);
  }

  /** The event failed: whatever it sent to the database is undone; its buffered writes are dropped with it. */
  async discard(): Promise<void> {
    if (!this.savepointTaken) return;
    await sql`rollback to savepoint event_writes`.execute(this.db);
    await sql`release savepoint event_writes`.execute(this.db);
  }

  private async read<K extends keyof LoadedRecords>(table: K, id: string): Promise<LoadedRecords[K]> {
    for (const known of [this.own.known[table], this.group.known[table]]) {
      if (known.has(id)) return known.get(id) as LoadedRecords[K];
    }
    const loaded = (await loadRecords[table](await this.database(), [id])).get(id) as LoadedRecords[K];
    this.own.known[table].set(id, loaded);
    return loaded;
  }

  private async repository(): Promise<SyncRepository> {
    return new SyncRepository(await this.database(), this.dialect, this.now);
  }

  /** The connection, for the event's own statements: they follow its savepoint. */
  private async database(): Promise<Kysely<Database>> {
    if (!this.savepointTaken) {
      await sql`savepoint event_writes`.execute(this.db);
      this.savepointTaken = true;
    }
    return this.db;
  }
}
