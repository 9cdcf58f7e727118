import type { FastifyBaseLogger } from 'fastify';
import { ZodError, z } from 'zod';
import type { Store, WebhookEventRow } from '../db/index.js';
import { EVENT_HANDLERS, type HandlerResult } from './handlers/index.js';
import { SyncRepository } from './repository.js';

export interface SyncWorkerOptions {
  store: Store;
  logger: FastifyBaseLogger;
  /** Delays (ms) before each retry; after the last one a failing event is dead. */
  retrySchedule: number[];
  /** How often to look for events whose retry is due. */
  pollIntervalMs?: number;
  now?: () => number;
}

const BATCH = 100;

/** An event that can never be applied as stored (its shape is wrong): retrying cannot help. */
export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
}

function describeZodError(error: ZodError, prefix: string[]): string {
  return error.issues.map((i) => `${[...prefix, ...i.path].join('.')}: ${i.message}`).join('; ');
}

/** Why an event cannot be applied, and whether trying again could help. */
function describeFailure(error: unknown): { message: string; retryable: boolean } {
  if (error instanceof InvalidEventError) return { message: error.message, retryable: false };
  return { message: error instanceof Error ? error.message : String(error), retryable: true };
}

/**
 * Applies stored events to the records, oldest `created` first. Each event's effect and its
 * "applied" mark commit in one transaction, and the mark is conditional on the event still
 * being pending, so an event is applied exactly once however often it is stored or drained.
 */
export class SyncWorker {
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: SyncWorkerOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.options.pollIntervalMs ?? 1000);
    this.timer.unref();
    this.kick();
  }

  /** Asks for a drain soon; cheap to call after every stored event. */
  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drainLoop().finally(() => {
      this.running = undefined;
    });
  }

  /** Processes everything due now; resolves when the queue holds nothing due. */
  async drain(): Promise<void> {
    this.kick();
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.again = false;
    await this.running;
  }

  private async drainLoop(): Promise<void> {
    do {
      this.again = false;
      try {
        while ((await this.processBatch()) === BATCH);
      } catch (error) {
        // The database is unreachable: the poll timer tries again.
        this.options.logger.error({ err: error }, 'sync worker could not read the event queue');
        return;
      }
    } while (this.again);
  }

  private async processBatch(): Promise<number> {
    const { db } = this.options.store;
    const due = await db
      .selectFrom('webhook_events')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb('status', '=', 'pending'),
          eb.and([eb('status', '=', 'failed'), eb('next_attempt_at', '<=', this.now())]),
        ]),
      )
      .orderBy('created')
      .orderBy('received_at')
      .limit(BATCH)
      .execute();
    for (const row of due) await this.processEvent(row);
    return due.length;
  }

  /** Applies one stored event. Never throws: a failure is recorded on the event. */
  async processEvent(row: WebhookEventRow): Promise<void> {
    const { store, logger } = this.options;
    const started = this.now();
    const attempt = row.attempts + 1;
    try {
      const result = await store.db.transaction().execute(async (trx) => {
        const claimed = await trx
          .updateTable('webhook_events')
          .set({ attempts: attempt })
          .where('id', '=', row.id)
          .where('status', 'in', ['pending', 'failed'])
          .where('attempts', '=', row.attempts)
          .executeTakeFirst();
        if (Number(claimed.numUpdatedRows) === 0) return undefined;
        const outcome = await applyEvent(row, new SyncRepository(trx, store.dialect, this.now));
        await trx
          .updateTable('webhook_events')
          .set({ status: 'applied', outcome: outcome.outcome, processed_at: this.now(), last_error: null, next_attempt_at: null })
          .where('id', '=', row.id)
          .execute();
        return outcome;
      });
      if (!result) return;
      const log = { eventId: row.id, type: row.type, attempt, outcome: result.outcome, durationMs: this.now() - started };
      if (result.warning) logger.warn({ ...log, warning: result.warning }, 'event applied with a warning');
      else logger.info(log, 'event applied');
    } catch (error) {
      await this.recordFailure(row, attempt, error, started);
    }
  }

  private async recordFailure(row: WebhookEventRow, attempt: number, error: unknown, started: number): Promise<void> {
    const { message, retryable } = describeFailure(error);
    const delay = this.options.retrySchedule[attempt - 1];
    const dead = !retryable || delay === undefined;
    const nextAttemptAt = dead ? null : this.now() + jitter(delay);
    try {
      await this.options.store.db
        .updateTable('webhook_events')
        .set({ status: dead ? 'dead' : 'failed', attempts: attempt, last_error: message, next_attempt_at: nextAttemptAt })
        .where('id', '=', row.id)
        .where('status', 'in', ['pending', 'failed'])
        .execute();
    } catch (writeError) {
      this.options.logger.error({ eventId: row.id, err: writeError }, 'could not record a processing failure; the event stays queued');
    }
    this.options.logger[dead ? 'error' : 'warn'](
      {
        eventId: row.id,
        type: row.type,
        attempt,
        outcome: dead ? 'dead' : 'failed',
        nextAttemptAt: nextAttemptAt === null ? null : new Date(nextAttemptAt).toISOString(),
        error: message,
        durationMs: this.now() - started,
      },
      dead ? 'event processing failed for good; event is dead' : 'event processing failed; will retry',
    );
  }
}

const storedEventSchema = z.looseObject({
  created: z.number().int().positive(),
  data: z.looseObject({ object: z.looseObject({}) }),
});

async function applyEvent(row: WebhookEventRow, repo: SyncRepository): Promise<HandlerResult> {
  const handler = EVENT_HANDLERS[row.type];
  if (!handler) return { outcome: 'ignored: type not handled' };
  const envelope = storedEventSchema.safeParse(JSON.parse(row.payload));
  if (!envelope.success) throw new InvalidEventError(`invalid event: ${describeZodError(envelope.error, [])}`);
  try {
    return await handler({ id: row.id, type: row.type, created: envelope.data.created, data: envelope.data.data }, repo);
  } catch (error) {
    if (error instanceof ZodError) throw new InvalidEventError(`invalid event payload: ${describeZodError(error, ['data', 'object'])}`);
    throw error;
  }
}

/** ±10 % so that many events failing together do not retry in lockstep. */
function jitter(delayMs: number): number {
  return Math.round(delayMs * (0.9 + Math.random() * 0.2));
}
