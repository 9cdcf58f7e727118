import type { SyncRecords } from '../repository.js';

/** The part of a stored Stripe event that handlers read. */
export interface StripeEvent {
  id: string;
  type: string;
  created: number;
  data: { object: unknown };
}

export interface HandlerResult {
  /** What the event did, in words; stored with the event. */
  outcome: string;
  /** Set when the event asked for something that was refused and an operator should know (logged as a warning). */
  warning?: string;
}

/** Stripe's current state of the event's subscription, read before the event's transaction opened (refetch mode). */
export interface FetchedSubscription {
  object: unknown;
  /** When the read was sent (ms). */
  fetchedAt: number;
}

export type EventHandler = (event: StripeEvent, repo: SyncRecords, fetched?: FetchedSubscription) => Promise<HandlerResult>;
