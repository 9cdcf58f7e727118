import type { Generated, Insertable, Selectable } from 'kysely';

/**
 * One schema for SQLite and PostgreSQL. Portable types only: times are integers
 * (Stripe times in unix seconds, our own in milliseconds), booleans are 0/1, JSON is text.
 */
export interface Database {
  users: UsersTable;
  webhook_events: WebhookEventsTable;
  webhook_event_payloads: WebhookEventPayloadsTable;
  customers: CustomersTable;
  subscriptions: SubscriptionsTable;
  subscription_history: SubscriptionHistoryTable;
  subscription_observations: SubscriptionObservationsTable;
  subscription_payments: SubscriptionPaymentsTable;
  worker_locks: WorkerLocksTable;
  event_attempts: EventAttemptsTable;
  account_emails: AccountEmailsTable;
  email_codes: EmailCodesTable;
  usage_events: UsageEventsTable;
  trials: TrialsTable;
  trial_emails: TrialEmailsTable;
  dashboard_sessions: DashboardSessionsTable;
}

/** A signed-in operator of the dashboard: the SHA-256 of the cookie's session id (milliseconds). */
interface DashboardSessionsTable {
  id_hash: string;
  csrf_token: string;
  created_at: number;
  expires_at: number;
}

type UsageEventKind = 'consume' | 'refused' | 'reset';

/** One consumption of a feature's quota (or a refusal, or an operator's reset). */
interface UsageEventsTable {
  id: Generated<number>;
  /** The account (the user a check resolves to). */
  user_id: string;
  feature: string;
  amount: number;
  kind: UsageEventKind;
  /** Milliseconds. */
  at: number;
  idempotency_key: string | null;
  answer: string | null;
}

/** A card-less trial, one per account; unix seconds. */
interface TrialsTable {
  user_id: string;
  price_id: string;
  started_at: number;
  ends_at: number;
}

/** A verified email whose account started a trial: no other account may start one with it. */
interface TrialEmailsTable {
  email: string;
  user_id: string;
}

export type AttemptOutcome = 'applied' | 'ignored' | 'failed' | 'dead' | 'lease_lost';

/** One processing attempt of a stored event: when, by which worker, and how it ended. */
export interface EventAttemptsTable {
  id: Generated<number>;
  event_id: string;
  attempt: number;
  worker: string;
  started_at: number;
  finished_at: number;
  outcome: AttemptOutcome;
  error: string | null;
}

interface UsersTable {
  id: string;
  /** SHA-256 of the bearer token; the token itself is never stored. */
  token_hash: string | null;
  created_at: number;
  /** The account this user acts for, after its install verified an email (null: its own). Never a chain: an account's own row has null. */
  account_id: string | null;
}

/** Each email an account verified: that address then belongs to it (first verification wins). */
interface AccountEmailsTable {
  /** Trimmed and lower-cased. */
  email: string;
  user_id: string;
  verified_at: number;
}

/** The one code an install may use for an address, until it expires, is used, or takes 5 wrong guesses. */
interface EmailCodesTable {
  email: string;
  /** The install's own user that asked for it. */
  user_id: string;
  /** SHA-256 of the code; the code itself is never stored. */
  code_hash: string;
  expires_at: number;
  failed_attempts: number;
}

/** pending → processing → applied | ignored | failed (→ processing again) | dead. */
export type WebhookEventStatus = 'pending' | 'processing' | 'applied' | 'ignored' | 'failed' | 'dead';

interface WebhookEventsTable {
  id: string;
  type: string;
  api_version: string | null;
  livemode: number;
  /** Stripe's `created`, unix seconds. */
  created: number;
  received_at: number;
  status: WebhookEventStatus;
  attempts: number;
  last_error: string | null;
  next_attempt_at: number | null;
  processed_at: number | null;
  /** What processing did, in words (for example why a stale event changed nothing). */
  outcome: string | null;
  /** The subscription (or customer) the event is about: events of one key are applied in `created` order. */
  ordering_key: string | null;
  /** The worker holding the event while it is `processing`, and until when (ms); an expired lease may be taken over. */
  locked_by: string | null;
  lease_until: number | null;
}

/** Each stored event's raw body exactly as Stripe signed it; written with the event, never changed. */
interface WebhookEventPayloadsTable {
  event_id: string;
  payload: string;
}

/** SQLite allows one worker process per database file; this row says which one, while its heartbeat is fresh. */
interface WorkerLocksTable {
  name: string;
  owner: string;
  heartbeat_at: number;
}

interface CustomersTable {
  id: string;
  user_id: string | null;
  /** The event that linked the customer to its user. */
  linked_by: string | null;
  deleted: number;
  /** JSON array of entitlement lookup keys from Stripe's active entitlement summary; null when none was received. */
  features: string | null;
  features_event_created: number | null;
  /** The customer's email in Stripe, trimmed and lower-cased (restore by emailed code looks it up). */
  email: string | null;
  email_event_created: number | null;
  updated_at: number;
}

interface SubscriptionsTable {
  id: string;
  customer_id: string;
  status: string;
  price_id: string | null;
  product_id: string | null;
  current_period_start: number | null;
  current_period_end: number | null;
  cancel_at_period_end: number;
  cancel_at: number | null;
  canceled_at: number | null;
  ended_at: number | null;
  trial_end: number | null;
  past_due_since: number | null;
  last_event_id: string;
  last_event_type: string;
  last_event_created: number;
  /** When this state was read from Stripe's API (ms), or null when it came from an event's payload. */
  synced_at: number | null;
  updated_at: number;
}

interface SubscriptionHistoryTable {
  id: Generated<number>;
  subscription_id: string;
  event_id: string;
  event_type: string;
  event_created: number;
  applied_at: number;
  /** Null for changes that do not concern the status (payment facts). */
  status_before: string | null;
  status_after: string | null;
  /** JSON object of the fields this event changed: {field: [before, after]}. */
  changes: string;
}

/** Every status an event showed for a subscription, applied or not: the past_due grace is computed from these. */
interface SubscriptionObservationsTable {
  subscription_id: string;
  event_id: string;
  event_created: number;
  status: string;
}

/** Payment facts from invoice events, kept apart so they are recorded whatever the arrival order. */
interface SubscriptionPaymentsTable {
  subscription_id: string;
  last_payment_succeeded_at: number | null;
  last_payment_failed_at: number | null;
  last_invoice_id: string | null;
  updated_at: number;
}

export type WebhookEventRow = Selectable<WebhookEventsTable>;
/** A stored event with its raw payload (kept in webhook_event_payloads; null if that row is missing), as the worker applies it. */
export type StoredEvent = WebhookEventRow & { payload: string | null };
/** A new event and its raw payload, as intake and backfill store them (one row in each table). */
export type NewWebhookEvent = Insertable<WebhookEventsTable> & { payload: string };
export type CustomerRow = Selectable<CustomersTable>;
export type SubscriptionRow = Selectable<SubscriptionsTable>;
export type SubscriptionPaymentsRow = Selectable<SubscriptionPaymentsTable>;
export type SubscriptionObservationRow = Selectable<SubscriptionObservationsTable>;
export type NewSubscriptionHistoryRow = Insertable<SubscriptionHistoryTable>;
