import type { z } from 'zod';
import type { EventStamp } from '../decide.js';
import type { Needs, SyncRecords } from '../records/index.js';

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

/**
 * Everything sync knows about one kind of Stripe event, in one place: intake, the queue and the
 * worker read it, so adding a type is one file and one line in the registry (./index.ts).
 */
export interface EventType<Parsed> {
  /** Stripe's event types this descriptor handles. */
  types: readonly string[];
  /** `data.object` as the handler reads it; throws a ZodError for a shape it cannot read (the event is then invalid). */
  parse(object: unknown): Parsed;
  /**
   * What the event is about, read at intake from `data.object` (see keyOf): events of one key are
   * applied in `created` order. Null when it names nothing or cannot be read.
   */
  orderingKey(object: unknown): string | null;
  /** What the event's transaction locks and reads, so that a group does both for all its events at once. */
  needs(parsed: Parsed): Partial<Needs>;
  /** Refetch mode: the subscription to read from Stripe before the transaction; null when none. */
  refetchId?(parsed: Parsed): string | null;
  /** The event's effects, through the records of its transaction. */
  apply(records: SyncRecords, parsed: Parsed, event: EventStamp, fetched?: FetchedSubscription): Promise<HandlerResult>;
}

/** One event read through its descriptor: what the worker needs of it, with the parsed object bound in. */
export interface ReadEvent {
  needs: Partial<Needs>;
  refetchId: string | null;
  apply(records: SyncRecords, event: EventStamp, fetched?: FetchedSubscription): Promise<HandlerResult>;
}

/** A descriptor as the registry holds it: its types, and a reader that binds the parsed object into its steps. */
export interface Registered {
  types: readonly string[];
  orderingKey(object: unknown): string | null;
  /** Reads `data.object` with the descriptor; throws its ZodError. */
  read(object: unknown): ReadEvent;
}

export function register<Parsed>(type: EventType<Parsed>): Registered {
  return {
    types: type.types,
    orderingKey: type.orderingKey,
    read(object) {
      const parsed = type.parse(object);
      return {
        needs: type.needs(parsed),
        refetchId: type.refetchId?.(parsed) ?? null,
        apply: (records, event, fetched) => type.apply(records, parsed, event, fetched),
      };
    },
  };
}

/** An ordering key read with some fields of the type's own schema (stripe-objects.ts KEY_FIELDS): cheap at intake, and read as the handler reads them. */
export function keyOf<Fields>(fields: z.ZodType<Fields>, key: (fields: Fields) => string | null): (object: unknown) => string | null {
  return (object) => {
    const read = fields.safeParse(object);
    return read.success ? key(read.data) : null;
  };
}
