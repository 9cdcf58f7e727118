import { type Kysely, sql } from 'kysely';
import type { Database, Dialect, WebhookEventRow } from '../db/index.js';
import type { EventStamp, PaymentFacts, StatusObservation, SubscriptionRecord } from './decide.js';
import {
  customerLink,
  type LinkResult,
  type LoadedRecords,
  linkResult,
  loadCustomerUsers,
  loadGroupRecords,
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
} from './repository.js';
import { writeGroup } from './group-write.js';
import type { Completion } from './queue.js';

interface KnownValues extends LoadedRecords {
  /** The user each customer is linked to; null when it is not (or is not stored). */
  customerUsers: string | null;
  /** Whether the user exists. */
  users: boolean;
}

type KnownRecords = { [K in keyof KnownValues]: Map<string, KnownValues[K]> };

function nothingKnown(): KnownRecords {
  return { subscriptions: new Map(), observations: new Map(), payments: new Map(), customerUsers: new Map(), users: new Map() };
}

/** What a group of events, or one event of it, has locked, read or changed so far, and the rows it will write. */
class RecordState {
  readonly writes = noWrites();

  constructor(
    readonly known = nothingKnown(),
    readonly locked = new Set<string>(),
  ) {}

  lookup<K extends keyof KnownValues>(table: K, id: string): KnownValues[K] | undefined {
    return this.known[table].get(id);
  }

  addWrites(writes: RecordWrites): void {
    for (const table of Object.keys(writes) as (keyof RecordWrites)[]) (this.writes[table] as unknown[]).push(...writes[table]);
  }

  /** Takes in the state of an event that succeeded, so that later events of the group see its effects. */
  absorb(event: RecordState): void {
    for (const table of Object.keys(event.known) as (keyof KnownRecords)[]) {
      for (const [id, value] of event.known[table]) (this.known[table] as Map<string, unknown>).set(id, value);
    }
    for (const id of event.locked) this.locked.add(id);
    this.addWrites(event.writes);
  }
}

/** The subscriptions events of a type family are about: their ordering keys (see orderingKeyOf). */
function orderingKeys(rows: readonly WebhookEventRow[], about: (type: string) => boolean): string[] {
  return rows.flatMap((row) => (about(row.type) && row.ordering_key !== null ? [row.ordering_key] : []));
}

const isSubscriptionEvent = (type: string) => type.startsWith('customer.subscription.');
const isInvoiceEvent = (type: string) => type.startsWith('invoice.');

/**
 * The records of a group of events applied in one transaction: locked and loaded for the whole
 * group at its start, changed by each event in turn, written together at its end.
 */
export class GroupRecords {
  private constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly now: () => number,
    readonly state: RecordState,
    /** Customers the group's other events are about (customer, checkout, entitlement events). */
    private readonly customerKeys: string[],
  ) {}

  /**
   * Locks the subscriptions the group's events are about in one statement, then loads what those
   * events read (see loadGroupRecords): subscription events read the record and its observations,
   * invoice events the payment facts.
   */
  static async load(db: Kysely<Database>, dialect: Dialect, now: () => number, rows: readonly WebhookEventRow[]): Promise<GroupRecords> {
    const subscriptionKeys = orderingKeys(rows, isSubscriptionEvent);
    const invoiceKeys = orderingKeys(rows, isInvoiceEvent);
    const locked = [...subscriptionKeys, ...invoiceKeys];
    await lockSubscriptions(db, dialect, locked);
    const known = { ...nothingKnown(), ...(await loadGroupRecords(db, dialect, subscriptionKeys, invoiceKeys)) };
    const customerKeys = orderingKeys(rows, (type) => !isSubscriptionEvent(type) && !isInvoiceEvent(type));
    return new GroupRecords(db, dialect, now, new RecordState(known, new Set(locked)), customerKeys);
  }

  /** The records as the group's next event sees them. */
  forEvent(): EventRecords {
    return new EventRecords(this, this.db, this.dialect, this.now);
  }

  /**
   * Loads, on the group's first link, the customers it may link: the one asked for, those its
   * other events are about and those of its subscriptions, with whether their users exist. Read
   * without locks, as links are checked again when written (see writeRecords).
   */
  async loadCustomers(customerId: string): Promise<void> {
    const { known } = this.state;
    const ofSubscriptions = [...known.subscriptions.values()].flatMap((record) => (record ? [record.customerId] : []));
    const ids = [...new Set([customerId, ...this.customerKeys, ...ofSubscriptions])].filter((id) => !known.customerUsers.has(id));
    const loaded = await loadCustomerUsers(this.db, ids);
    for (const [id, user] of loaded.customerUsers) known.customerUsers.set(id, user);
    for (const [id, exists] of loaded.users) known.users.set(id, exists);
  }

  /** Writes every kept event's rows, and finishes the events (see writeGroup). */
  async write(completion: Completion): Promise<void> {
    await writeGroup(this.db, this.dialect, this.state.writes, completion);
  }
}

/**
 * One event's view of its group's records. Reads come from the group's state; writes are kept
 * aside and join the group's only if the event succeeds (`keep`), so a failed event leaves nothing
 * behind. What the group does not buffer (a customer's deletion or features) is written at once,
 * after a savepoint taken before the event's first such write, which `discard` rolls back to.
 */
export class EventRecords implements SyncRecords {
  private readonly own = new RecordState();
  private savepointTaken = false;

  constructor(
    private readonly group: GroupRecords,
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly now: () => number,
  ) {}

  async lockSubscription(subscriptionId: string): Promise<void> {
    if (this.group.state.locked.has(subscriptionId) || this.own.locked.has(subscriptionId)) return;
    await lockSubscriptions(this.db, this.dialect, [subscriptionId]);
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
    if (this.known('customerUsers', customerId) === undefined) await this.group.loadCustomers(customerId);
    const linkedUser = this.known('customerUsers', customerId) ?? null;
    if (linkedUser !== null) return linkResult(linkedUser, userId);
    this.own.known.customerUsers.set(customerId, userId);
    this.own.addWrites({ ...noWrites(), links: [customerLink(customerId, userId, linkedBy, this.now())] });
    return { linked: true };
  }

  async userExists(userId: string): Promise<boolean> {
    const known = this.known('users', userId);
    if (known !== undefined) return known;
    const exists = await new SyncRepository(this.db, this.dialect, this.now).userExists(userId);
    this.own.known.users.set(userId, exists);
    return exists;
  }

  async markCustomerDeleted(customerId: string): Promise<void> {
    await (await this.writer()).markCustomerDeleted(customerId);
  }

  async setCustomerFeatures(customerId: string, features: string[], eventCreated: number): Promise<boolean> {
    return (await this.writer()).setCustomerFeatures(customerId, features, eventCreated);
  }

  /** The event succeeded: its effects become the group's. */
  async keep(): Promise<void> {
    if (this.savepointTaken) await sql`release savepoint event_writes`.execute(this.db);
    this.group.state.absorb(this.own);
  }

  /** The event failed: what it wrote to the database is undone; its buffered writes are dropped with it. */
  async discard(): Promise<void> {
    if (!this.savepointTaken) return;
    await sql`rollback to savepoint event_writes`.execute(this.db);
    await sql`release savepoint event_writes`.execute(this.db);
  }

  /** What this event, or else its group, knows; undefined when neither has read it. */
  private known<K extends keyof KnownValues>(table: K, id: string): KnownValues[K] | undefined {
    return (this.own.known[table].has(id) ? this.own : this.group.state).lookup(table, id);
  }

  /** A subscription's record, observations or payment facts; loaded now if the group did not (its lock was taken by the handler). */
  private async read<K extends keyof LoadedRecords>(table: K, id: string): Promise<LoadedRecords[K]> {
    const known = this.known(table, id);
    if (known !== undefined) return known;
    const loaded = (await loadRecords(this.db, table, [id])).get(id) as LoadedRecords[K];
    (this.own.known[table] as Map<string, LoadedRecords[K]>).set(id, loaded);
    return loaded;
  }

  /** The database, for the event's own writes: they follow its savepoint. */
  private async writer(): Promise<SyncRepository> {
    if (!this.savepointTaken) {
      await sql`savepoint event_writes`.execute(this.db);
      this.savepointTaken = true;
    }
    return new SyncRepository(this.db, this.dialect, this.now);
  }
}
