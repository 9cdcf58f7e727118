import type { Kysely } from 'kysely';
import type { Database, Dialect } from '../../db/index.js';
import {
  decideCustomerFact,
  decideLink,
  type EventStamp,
  type LinkDecision,
  type PaymentFacts,
  type SeenStatus,
  type SubscriptionRecord,
} from '../decide.js';
import {
  type CustomerState,
  type Known,
  type KnownKind,
  type KnownValue,
  loadCustomers,
  loadOfSubscriptions,
  loadSubscriptions,
  lockSubscriptions,
  nothingKnown,
  userExists,
} from './load.js';
import { noWrites, observationRow, paymentWrites, type RecordWrites, subscriptionWrites } from './rows.js';

/** What a group locks and loads before its events run (the records of each event's ids). */
export interface Needs {
  /** Subscriptions whose advisory locks the group takes first (PostgreSQL). */
  locks: string[];
  /** Subscriptions whose record and status observations are read. */
  subscriptions: string[];
  /** Subscriptions whose payment facts are read. */
  payments: string[];
  /** Customers whose link and features are read. */
  customers: string[];
}

/**
 * The records handlers read and write. Reads come from what the transaction loaded (or load now);
 * writes are buffered and written together when the transaction ends (see write.ts).
 */
export interface SyncRecords {
  /** Serializes concurrent writers of one subscription across processes (PostgreSQL); SQLite writers are serial already. */
  lockSubscription(subscriptionId: string): Promise<void>;
  getSubscription(id: string): Promise<SubscriptionRecord | null>;
  /** Stores the record with one history row explaining the change. */
  saveSubscription(before: SubscriptionRecord | null, after: SubscriptionRecord, event: EventStamp): void;
  /** Every status seen for the subscription (see decide.ts `observe`). */
  getStatuses(subscriptionId: string): Promise<SeenStatus[]>;
  /** Stores the statuses seen that are not stored yet. */
  saveStatuses(subscriptionId: string, seen: readonly SeenStatus[]): void;
  getPaymentFacts(subscriptionId: string): Promise<PaymentFacts | null>;
  savePaymentFacts(before: PaymentFacts | null, after: PaymentFacts, event: EventStamp): void;
  /** Links a customer to a user unless it already belongs to one (decide.ts `decideLink`). */
  linkCustomer(customerId: string, userId: string, linkedBy: string): Promise<LinkDecision>;
  userExists(userId: string): Promise<boolean>;
  markCustomerDeleted(customerId: string): void;
  /** Stores the customer's entitlement lookup keys unless a newer summary is stored; says whether it did. */
  setCustomerFeatures(customerId: string, features: string[], eventCreated: number): Promise<boolean>;
  /** Stores the customer's (normalized) email unless a newer event stated one; says whether it did. */
  setCustomerEmail(customerId: string, email: string, eventCreated: number): Promise<boolean>;
}

/** A customer as known so far, or a new one's empty state. */
function knownCustomer(customer: CustomerState | null): CustomerState {
  return customer ?? { userId: null, featuresCreated: null, emailCreated: null };
}

/** What a transaction, or one event in it, has locked and read so far, and the rows it will write. */
class State {
  readonly known: Known = nothingKnown();
  readonly writes: RecordWrites = noWrites();
  readonly locked = new Set<string>();

  add(writes: Partial<RecordWrites>): void {
    for (const [table, rows] of Object.entries(writes) as [keyof RecordWrites, unknown[]][])
      (this.writes[table] as unknown[]).push(...rows);
  }

  /** Takes in the state of an event that succeeded, so that later events see its effects. */
  absorb(other: State): void {
    for (const kind of Object.keys(other.known) as KnownKind[]) {
      for (const [id, value] of other.known[kind]) (this.known[kind] as Map<string, unknown>).set(id, value);
    }
    for (const id of other.locked) this.locked.add(id);
    this.add(other.writes);
  }
}

/**
 * The records of one transaction: locked and loaded for all its events at its start (see Needs),
 * changed by each event in turn, written together at its end.
 */
export class TransactionRecords {
  private readonly state = new State();
  /** Customers its events are about, read together on the first customer any of them asks for. */
  private readonly customerIds: string[];

  private constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    readonly now: () => number,
    needs: Needs,
  ) {
    this.customerIds = needs.customers;
  }

  static async load(db: Kysely<Database>, dialect: Dialect, now: () => number, needs: Needs): Promise<TransactionRecords> {
    const records = new TransactionRecords(db, dialect, now, needs);
    await lockSubscriptions(db, dialect, needs.locks);
    for (const id of needs.locks) records.state.locked.add(id);
    if (needs.subscriptions.length > 0 || needs.payments.length > 0)
      Object.assign(records.state.known, await loadSubscriptions(db, dialect, needs));
    return records;
  }

  get writes(): RecordWrites {
    return this.state.writes;
  }

  /** The records as the transaction's next event sees them. */
  forEvent(): EventRecords {
    return new EventRecords(this, this.state);
  }

  async lock(id: string): Promise<void> {
    await lockSubscriptions(this.db, this.dialect, [id]);
  }

  /**
   * Loads what was not read yet: a subscription's records (its lock was taken by the handler), or customers with the transaction's others.
   */
  async load<K extends KnownKind>(kind: K, id: string, into: Known): Promise<void> {
    if (kind === 'customers') {
      const ofSubscriptions = [...this.state.known.subscriptions.values()].flatMap((record) => (record ? [record.customerId] : []));
      const ids = [...new Set([id, ...this.customerIds, ...ofSubscriptions])].filter((other) => !this.state.known.customers.has(other));
      const loaded = await loadCustomers(this.db, ids);
      for (const [other, state] of loaded.customers) this.state.known.customers.set(other, state);
      for (const [user, exists] of loaded.users) this.state.known.users.set(user, exists);
    } else if (kind === 'users') {
      into.users.set(id, await userExists(this.db, id));
    } else {
      const loaded = await loadOfSubscriptions(this.db, kind as 'subscriptions' | 'statuses' | 'payments', [id]);
      (into[kind] as Map<string, unknown>).set(id, loaded.get(id));
    }
  }

  /** The event succeeded: its effects become the transaction's. */
  keep(event: State): void {
    this.state.absorb(event);
  }
}

/**
 * One event's view of its transaction's records: its own effects are kept aside and join the transaction's only if it succeeds (`keep`).
 */
export class EventRecords implements SyncRecords {
  private readonly own = new State();

  constructor(
    private readonly transaction: TransactionRecords,
    private readonly shared: State,
  ) {}

  async lockSubscription(subscriptionId: string): Promise<void> {
    if (this.shared.locked.has(subscriptionId) || this.own.locked.has(subscriptionId)) return;
    await this.transaction.lock(subscriptionId);
    this.own.locked.add(subscriptionId);
  }

  getSubscription(id: string): Promise<SubscriptionRecord | null> {
    return this.read('subscriptions', id);
  }

  saveSubscription(before: SubscriptionRecord | null, after: SubscriptionRecord, event: EventStamp): void {
    this.own.known.subscriptions.set(after.id, after);
    this.own.add(subscriptionWrites(before, after, event, this.transaction.now()));
  }

  getStatuses(subscriptionId: string): Promise<SeenStatus[]> {
    return this.read('statuses', subscriptionId);
  }

  saveStatuses(subscriptionId: string, seen: readonly SeenStatus[]): void {
    const stored = new Set((this.known('statuses', subscriptionId) ?? []).map((o) => o.eventId));
    const added = seen.filter((o) => !stored.has(o.eventId));
    if (added.length === 0) return;
    this.own.known.statuses.set(subscriptionId, [...seen]);
    this.own.add({ observations: added.map((o) => observationRow(subscriptionId, o)) });
  }

  getPaymentFacts(subscriptionId: string): Promise<PaymentFacts | null> {
    return this.read('payments', subscriptionId);
  }

  savePaymentFacts(before: PaymentFacts | null, after: PaymentFacts, event: EventStamp): void {
    this.own.known.payments.set(after.subscriptionId, after);
    this.own.add(paymentWrites(before, after, event, this.transaction.now()));
  }

  async linkCustomer(customerId: string, userId: string, linkedBy: string): Promise<LinkDecision> {
    const customer = await this.read('customers', customerId);
    const decision = decideLink(customer?.userId ?? null, userId);
    if (decision.link && customer?.userId !== userId) {
      this.own.known.customers.set(customerId, { ...knownCustomer(customer), userId });
      this.own.add({ links: [{ id: customerId, user_id: userId, linked_by: linkedBy, deleted: 0, updated_at: this.transaction.now() }] });
    }
    return decision;
  }

  userExists(userId: string): Promise<boolean> {
    return this.read('users', userId);
  }

  markCustomerDeleted(customerId: string): void {
    this.own.add({ deletions: [{ id: customerId, updated_at: this.transaction.now() }] });
  }

  async setCustomerFeatures(customerId: string, features: string[], eventCreated: number): Promise<boolean> {
    const customer = await this.read('customers', customerId);
    if (!decideCustomerFact(customer?.featuresCreated ?? null, eventCreated)) return false;
    this.own.known.customers.set(customerId, { ...knownCustomer(customer), featuresCreated: eventCreated });
    const row = {
      id: customerId,
      features: JSON.stringify(features),
      features_event_created: eventCreated,
      updated_at: this.transaction.now(),
    };
    this.own.add({ features: [row] });
    return true;
  }

  async setCustomerEmail(customerId: string, email: string, eventCreated: number): Promise<boolean> {
    const customer = await this.read('customers', customerId);
    if (!decideCustomerFact(customer?.emailCreated ?? null, eventCreated)) return false;
    this.own.known.customers.set(customerId, { ...knownCustomer(customer), emailCreated: eventCreated });
    this.own.add({ emails: [{ id: customerId, email, email_event_created: eventCreated, updated_at: this.transaction.now() }] });
    return true;
  }

  /** The event succeeded: its effects become the transaction's. */
  keep(): void {
    this.transaction.keep(this.own);
  }

  /** What this event, or else its transaction, knows; undefined when neither has read it. */
  private known<K extends KnownKind>(kind: K, id: string): KnownValue<K> | undefined {
    const source = this.own.known[kind].has(id) ? this.own : this.shared;
    return source.known[kind].get(id) as KnownValue<K> | undefined;
  }

  private async read<K extends KnownKind>(kind: K, id: string): Promise<KnownValue<K>> {
    if (this.known(kind, id) === undefined) await this.transaction.load(kind, id, this.own.known);
    return this.known(kind, id) as KnownValue<K>;
  }
}
