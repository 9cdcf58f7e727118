import type { FastifyBaseLogger } from 'fastify';
import type { AttemptOutcome, Store, WebhookEventRow } from '../../db/index.js';
import type { HandlerResult } from '../event-types/index.js';
import { type Completion, type EventQueue, LeaseLostError, recordAttempts } from '../queue.js';
import { type Applied, applyInTransaction, LinkedMeanwhileError, type Needs, type SyncRecords } from '../records/index.js';
import { InvalidEventError, type PreparedEvent, prepareEvent } from './prepare.js';
import { nextAttemptAt } from './retry.js';
import type { Claimed } from './scheduler.js';

export interface ProcessOptions {
  store: Store;
  logger: FastifyBaseLogger;
  owner: string;
  now: () => number;
  retrySchedule: number[];
  random?: () => number;
  onGroupFallback?: (fallback: { reason: 'group_failed' | 'event_failed'; events: number }) => void;
  onAttempt?: (attempt: { type: string; outcome: AttemptOutcome; durationMs: number }) => void;
  afterApply?: (event: WebhookEventRow) => Promise<void> | void;
  readSubscription?: (subscriptionId: string) => Promise<unknown>;
}

/** Each re-run reads the link that refused the last one, so a second refusal needs yet another concurrent link. */
const LINK_RETRIES = 2;

type EventResult = HandlerResult & { status: 'applied' | 'ignored' };

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Everything a group's events lock and read, for their transaction to do at its start. */
function needsOf(events: readonly PreparedEvent[]): Needs {
  const needs: Needs = { locks: [], subscriptions: [], payments: [], customers: [] };
  for (const { read } of events) {
    for (const kind of Object.keys(needs) as (keyof Needs)[]) needs[kind].push(...(read?.needs[kind] ?? []));
  }
  return needs;
}

/**
 * Applies claimed events of different ordering keys in one transaction. An event whose
 * preparation fails (its payload unreadable, or in refetch mode its Stripe read) has that failure
 * recorded at once. An event that fails in a group, and every event of a group that cannot commit
 * (a lost lease, a customer linked meanwhile, a failed write), is then applied alone, so that its
 * failure is recorded on it and does not hold back the others; each such fallback is logged and counted.
 */
export class EventProcessor {
  constructor(
    private readonly options: ProcessOptions,
    private readonly queue: EventQueue,
  ) {}

  /**
   * Returns the events the group ended before (see the scheduler's time budget), still claimed.
   * `linkRetries`: how often an event alone is run again when a customer was linked meanwhile.
   */
  async process(claimed: Claimed[], startAnother?: (started: number) => boolean, linkRetries = LINK_RETRIES): Promise<Claimed[]> {
    const startedAt = this.options.now();
    const ready: PreparedEvent[] = [];
    for (const { row, prepared } of claimed) {
      const startedAt = this.options.now();
      try {
        ready.push(prepared ?? (await prepareEvent(row, this.options.now, this.options.readSubscription)));
      } catch (error) {
        await this.recordFailure(row, error, startedAt);
      }
    }
    if (ready.length === 0) return [];
    const { applied, failed, unstarted, transactionError } = await applyInTransaction(
      this.options.store,
      ready,
      needsOf(ready),
      { apply: (records, event) => this.apply(records, event), completion: (events) => this.completion(events), startAnother },
      this.options.now,
    );
    for (const { item, value, startedAt, finishedAt } of applied) this.logApplied(item.row, value, finishedAt - startedAt);
    if (ready.length > 1 && failed.length > 0) {
      this.reportFallback(ready.length, failed, transactionError);
      for (const { item } of failed) await this.process([{ row: item.row, prepared: item }], undefined, linkRetries);
    } else if (failed.length > 0) {
      await this.failedAlone(failed[0]!.item, failed[0]!.error, startedAt, linkRetries);
    }
    return unstarted.map((event) => ({ row: event.row, prepared: event }));
  }

  /** An event that failed alone: lost to another worker, linked meanwhile (run again: it now reads that link), or failed. */
  private async failedAlone(event: PreparedEvent, error: unknown, startedAt: number, linkRetries: number): Promise<void> {
    const { row } = event;
    if (error instanceof LeaseLostError) {
      const durationMs = this.finished(row, 'lease_lost', startedAt);
      this.options.logger.warn(
        { eventId: row.id, type: row.type, attempt: row.attempts, outcome: 'lease_lost', durationMs },
        `event rolled back: ${error.message}`,
      );
      return;
    }
    if (error instanceof LinkedMeanwhileError && linkRetries > 0) {
      this.options.onGroupFallback?.({ reason: 'group_failed', events: 1 });
      this.options.logger.warn(
        { eventId: row.id, type: row.type, reason: 'group_failed', error: error.message },
        'event could not commit; applying it again',
      );
      await this.process([{ row, prepared: event }], undefined, linkRetries - 1);
      return;
    }
    await this.recordFailure(row, error, startedAt);
  }

  /** A group that fell back to one-by-one processing: a bug in the group write would otherwise only show as slow drains. */
  private reportFallback(groupSize: number, failed: { item: PreparedEvent; error: unknown }[], transactionError: unknown): void {
    const reason = transactionError === undefined ? 'event_failed' : 'group_failed';
    this.options.onGroupFallback?.({ reason, events: failed.length });
    const errors = transactionError === undefined ? failed.map(({ error }) => messageOf(error)) : [messageOf(transactionError)];
    this.options.logger.warn(
      {
        reason,
        groupSize,
        eventIds: failed.map(({ item }) => item.row.id),
        errors,
        ...(transactionError === undefined ? {} : { err: transactionError }),
      },
      reason === 'group_failed'
        ? 'worker group could not commit; processing its events one by one'
        : 'events failed in a worker group; processing them one by one',
    );
  }

  /** Inside the event's transaction: its effects, then the test seam. */
  private async apply(records: SyncRecords, event: PreparedEvent): Promise<EventResult> {
    const result: EventResult = event.read
      ? { ...(await event.read.apply(records, event.stamp, event.fetched)), status: 'applied' }
      : { status: 'ignored', outcome: 'ignored: type not handled' };
    await this.options.afterApply?.(event.row);
    return result;
  }

  /**
   * What the applying transaction writes last: each event's "applied" mark (kept only while this worker holds every lease) and its attempt
   * log.
   */
  private completion(events: Applied<PreparedEvent, EventResult>[]): Completion {
    const { owner, now } = this.options;
    return {
      owner,
      now: now(),
      finished: events.map(({ item, value }) => ({ id: item.row.id, status: value.status, outcome: value.outcome })),
      attempts: events.map(({ item, value, startedAt, finishedAt }) => ({
        row: item.row,
        worker: owner,
        startedAt,
        finishedAt,
        outcome: value.status,
        error: null,
      })),
    };
  }

  /** After the commit: metrics and the attempt's log line. */
  private logApplied(row: WebhookEventRow, result: EventResult, durationMs: number): void {
    this.options.onAttempt?.({ type: row.type, outcome: result.status, durationMs });
    const log = { eventId: row.id, type: row.type, attempt: row.attempts, outcome: result.outcome, durationMs };
    if (result.warning) this.options.logger.warn({ ...log, warning: result.warning }, 'event applied with a warning');
    else this.options.logger.info(log, result.status === 'ignored' ? 'event ignored' : 'event applied');
  }

  private finished(row: WebhookEventRow, outcome: AttemptOutcome, startedAt: number): number {
    const durationMs = this.options.now() - startedAt;
    this.options.onAttempt?.({ type: row.type, outcome, durationMs });
    return durationMs;
  }

  private async recordFailure(row: WebhookEventRow, error: unknown, startedAt: number): Promise<void> {
    const { owner, now, logger } = this.options;
    const retryable = !(error instanceof InvalidEventError);
    const message = messageOf(error);
    const next = retryable ? nextAttemptAt(row.attempts, this.options.retrySchedule, now(), this.options.random) : null;
    const outcome = next === null ? 'dead' : 'failed';
    try {
      await this.queue.fail(row, owner, message, next);
      await recordAttempts(this.options.store.db, [{ row, worker: owner, startedAt, finishedAt: now(), outcome, error: message }]);
    } catch (writeError) {
      // The lease runs out and another attempt follows; nothing is lost.
      logger.error(
        { eventId: row.id, err: writeError },
        'could not record a processing failure; the event stays claimed until its lease expires',
      );
    }
    logger[outcome === 'dead' ? 'error' : 'warn'](
      {
        eventId: row.id,
        type: row.type,
        attempt: row.attempts,
        outcome,
        nextAttemptAt: next === null ? null : new Date(next).toISOString(),
        error: message,
        durationMs: this.finished(row, outcome, startedAt),
      },
      outcome === 'dead' ? 'event processing failed for good; event is dead' : 'event processing failed; will retry',
    );
  }
}
