import { ZodError, z } from 'zod';
import type { StoredEvent } from '../../db/index.js';
import type { EventStamp } from '../decide.js';
import { type FetchedSubscription, isHandledEventType, type ReadEvent, readEvent } from '../event-types/index.js';

/** An event that can never be applied as stored (its shape is wrong): retrying cannot help. */
export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
}

/** A claimed event made ready before any transaction: read through its type's descriptor and, in refetch mode, Stripe's state read. */
export interface PreparedEvent {
  row: StoredEvent;
  stamp: EventStamp;
  /** Null when sync does not handle the type (the event is marked ignored). */
  read: ReadEvent | null;
  fetched?: FetchedSubscription;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** What every handled event needs; `data.object` is handed on as it is, for the descriptor's own schema. */
const storedEventSchema = z.object({
  created: z.number().int().positive(),
  data: z.object({ object: z.custom<Record<string, unknown>>(isObject, 'Invalid input: expected object') }),
});

function describeZodError(error: ZodError, prefix: string[]): string {
  return error.issues.map((i) => `${[...prefix, ...i.path].join('.')}: ${i.message}`).join('; ');
}

/**
 * Reads the stored event, then (refetch mode) Stripe's current state of its subscription. Throws
 * InvalidEventError for a payload it cannot read; a failed Stripe read is a retryable failure.
 */
export async function prepareEvent(
  row: StoredEvent,
  now: () => number,
  readSubscription?: (subscriptionId: string) => Promise<unknown>,
): Promise<PreparedEvent> {
  const stamp = { id: row.id, type: row.type, created: row.created };
  if (!isHandledEventType(row.type)) return { row, stamp, read: null };
  if (row.payload === null) throw new InvalidEventError('invalid event: its payload is not stored');
  const envelope = storedEventSchema.safeParse(JSON.parse(row.payload));
  if (!envelope.success) throw new InvalidEventError(`invalid event: ${describeZodError(envelope.error, [])}`);
  const read = readPayload(row.type, envelope.data.data.object);
  const prepared = { row, stamp: { ...stamp, created: envelope.data.created }, read };
  if (!readSubscription) return prepared;
  // Refetch mode reads Stripe before the transaction: a payload that names no readable subscription fails now.
  if (read.invalid) throw read.invalid;
  if (read.refetchId === null) return prepared;
  const fetchedAt = now();
  return { ...prepared, fetched: { object: await readSubscription(read.refetchId), fetchedAt } };
}

/**
 * `data.object` read through its type's descriptor. One it cannot read fails inside the event's
 * transaction, as an event's own failure (the rest of its group still commits).
 */
function readPayload(type: string, object: unknown): ReadEvent & { invalid?: InvalidEventError } {
  try {
    return readEvent(type, object)!;
  } catch (error) {
    if (!(error instanceof ZodError)) throw error;
    const invalid = new InvalidEventError(`invalid event payload: ${describeZodError(error, ['data', 'object'])}`);
    return {
      invalid,
      needs: {},
      refetchId: null,
      apply: () => Promise.reject(invalid),
    };
  }
}
