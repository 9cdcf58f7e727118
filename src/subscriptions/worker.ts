import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import { ZodError, z } from 'zod';
import { type AttemptOutcome, NamedLock, type Store, type StoredEvent, type WebhookEventRow } from '../db/index.js';
import { type AppliedEvent, applyGroup } from './apply-group.js';
import { EVENT_HANDLERS, type FetchedSubscription, type HandlerResult, type StripeEvent, subscriptionToRead } from './handlers/index.js';
import { type Completion, EventQueue, finishEvents, LeaseLostError, recordAttempts } from './queue.js';
import { type SyncRecords, SyncRepository } from './repository.js';
import { nextAttemptAt } from './retry.js';
import { acquireWorkerLock } from './worker-lock.js';


export interface SyncWorkerOptions {
  store: Store;
  logger: FastifyBaseLogger;
  /** Delays (ms) before each retry; after the last one a failing event is dead. */
  retrySchedule: number[];
  /** How often to look for due events when nothing kicks the worker (events stored by other processes, retries). */
  pollIntervalMs?: number;
  /** How long a claim lasts; a worker that dies loses its events to others after this. */
  leaseMs?: number;
  /** Events applied at once (of different subscriptions). SQLite applies one at a time whatever this says. */
  concurrency?: number;
  batchSize?: number;
  /**
   * Events (of different subscriptions) applied together in one transaction (see apply-group.ts).
   * Default 25 on PostgreSQL, whose lanes share the claims; on SQLite, with one lane, a whole claim:
   * a commit there costs mostly the pages it writes, and a larger group shares more of them.
   */
  eventsPerTransaction?: number;
  /**
   * SQLite: a group takes no further event once it has run this long (ms; default 16). Its
   * statements run synchronously on the event loop and hold the only connection, so intake waits
   * for the whole group; this bounds the wait whatever the group size.
   */
  groupBudgetMs?: number;
  /** Applied and ignored events older than this are deleted; dead ones are kept. */
  retentionDays?: number;
  /** How long `stop()` waits for events in hand before releasing them. */
  stopTimeoutMs?: number;
  now?: () => number;
  random?: () => number;
  /** Told of every worker group that fell back to one-by-one processing (for metrics), and why. */
  onGroupFallback?: (fallback: { reason: 'group_failed' | 'event_failed'; events: number }) => void;
  /** Told of every finished attempt (for metrics). */
  onAttempt?: (attempt: { type: string; outcome: AttemptOutcome; durationMs: number }) => void;
  /**
   * Runs inside each event's transaction after its effects and before its commit. Only tests
   * pass it (to inject failures and crashes); nothing in the configuration can set it.
   */
  afterApply?: (event: WebhookEventRow) => Promise<void> | void;
  /**
   * Refetch mode: reads a subscription's current state from Stripe. Called before the event's
   * transaction opens, never inside it; a failure is a retryable processing failure, unless it
   * throws InvalidEventError.
   */
  readSubscription?: (subscriptionId: string) => Promise<unknown>;
}

/** The sizes at which SQLite's time budget may end a group (see groupBudget). */
const BUDGET_STEP = 25;

/** An event that can never be applied as stored (its shape is wrong): retrying cannot help. */
export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
}

function describeZodError(error: ZodError, prefix: string[]): string {
  return error.issues.map((i) => `${[...prefix, ...i.path].join('.')}: ${i.message}`).join('; ');
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** What every handled event needs; `data.object` is handed on as it is, for the handler's own schema. */
const storedEventSchema = z.object({
  created: z.number().int().positive(),
  data: z.object({ object: z.custom<Record<string, unknown>>(isObject, 'Invalid input: expected object') }),
});

/** The stored event as handlers read it; null when sync does not handle its type. */
function readStoredEvent(row: StoredEvent): StripeEvent | null {
  if (!EVENT_HANDLERS[row.type]) return null;
  if (row.payload === null) throw new InvalidEventError('invalid event: its payload is not stored');
  const envelope = storedEventSchema.safeParse(JSON.parse(row.payload));
  if (!envelope.success) throw new InvalidEventError(`invalid event: ${describeZodError(envelope.error, [])}`);
  return { id: row.id, type: row.type, created: envelope.data.created, data: envelope.data.data };
}

/** Runs a step that reads `data.object`; a shape it cannot read makes the event invalid for good. */
async function readingPayload<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof ZodError) throw new InvalidEventError(`invalid event payload: ${describeZodError(error, ['data', 'object'])}`);
    throw error;
  }
}

interface PreparedEvent {
  event: StripeEvent | null;
  fetched: FetchedSubscription | undefined;
}

type EventResult = HandlerResult & { status: 'applied' | 'ignored' };

async function applyEvent(event: StripeEvent | null, records: SyncRecords, fetched: FetchedSubscription | undefined): Promise<EventResult> {
  if (!event) return { status: 'ignored', outcome: 'ignored: type not handled' };
  const result = await readingPayload(() => EVENT_HANDLERS[event.type]!(event, records, fetched));
  return { ...result, status: 'applied' };
}

/**
 * Applies stored events to the records. Events are claimed with a lease; each event's effects
 * and its "applied" mark commit in one transaction that also checks the lease is still held,
 * so an event is applied exactly once whatever crashes, restarts or other workers happen.
 * Failures are retried on the schedule, then the event is dead.
 */
export class SyncWorker {
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly queue: EventQueue;
  private readonly now: () => number;
  /** SQLite serves one worker process per database file. */
  private readonly lock: NamedLock | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopping = false;
  private timers: NodeJS.Timeout[] = [];
  /** Events a group ended before (see groupBudgetMs), prepared already. */
  private readonly preparedBefore = new WeakMap<StoredEvent, PreparedEvent>();

  constructor(private readonly options: SyncWorkerOptions) {
    this.now = options.now ?? Date.now;
    this.queue = new EventQueue(options.store);
    const onHeartbeatError = (error: unknown) =>
      options.logger.error({ err: error }, 'could not renew the SQLite worker lock; another process may take it over once it is stale');
    this.lock = options.store.dialect === 'sqlite' ? new NamedLock(options.store, 'sqlite-worker', this.owner, 15_000, this.now, onHeartbeatError) : undefined;
  }

  private get leaseMs(): number {
    return this.options.leaseMs ?? 60_000;
  }

  /**
   * Takes the SQLite worker lock and starts polling. Throws WorkerLockError when a live process on
   * this host has the lock; waits (logged) while one on another host may still be alive.
   */
  async start(): Promise<void> {
    if (this.lock) {
      await acquireWorkerLock(this.lock, this.options.logger, this.now);
      // The only worker on this file: anything still `processing` belongs to a process that died.
      const orphans = await this.queue.expireAllLeases();
      if (orphans > 0) this.options.logger.warn({ events: orphans }, 'taking back events left in processing by a previous run');
    }
    const every = (ms: number, task: () => void) => {
      const timer = setInterval(task, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.options.pollIntervalMs ?? 500, () => this.kick());
    every(3_600_000, () => void this.prune());
    void this.prune();
    this.kick();
  }

  /** Asks for a drain soon; cheap to call after every stored event. */
  kick(): void {
    if (this.stopping) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drainLoop().finally(() => {
      this.running = undefined;
    });
  }

  /** Processes everything due now; resolves when nothing due is left. */
  async drain(): Promise<void> {
    this.kick();
    while (this.running) await this.running;
  }

  /** Stops taking work, finishes what is in hand (or releases it after `stopTimeoutMs`), frees the lock. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    const deadline = new Promise((resolve) => setTimeout(resolve, this.options.stopTimeoutMs ?? 10_000).unref());
    await Promise.race([this.running, deadline]);
    await this.lock?.release().catch((error) => this.options.logger.error({ err: error }, 'could not release the worker lock'));
  }

  private async drainLoop(): Promise<void> {
    do {
      this.again = false;
      try {
        // A claim finds nothing while later events of the subscriptions in hand wait for them: a pass
        // that claimed anything is followed by another.
        while (!this.stopping && (await this.drainDue()) > 0);
      } catch (error) {
        // The database is unreachable: the poll timer tries again.
        this.options.logger.error({ err: error }, 'sync worker could not read the event queue');
        return;
      }
    } while (this.again && !this.stopping);
  }

  /**
   * Claims and applies events until none is due. Lanes (one on SQLite) take groups from the claimed
   * events while the next claim is read, so that no lane waits for a claim or for the other lanes'
   * groups. Events of one subscription are never in hand together (see EventQueue.claim), so
   * overlapping claims keep their order. What is left in hand at a stop is released. Returns how
   * many events it claimed.
   */
  private async drainDue(): Promise<number> {
    const { store, batchSize = 100 } = this.options;
    const lanes = store.dialect === 'sqlite' ? 1 : Math.max(1, this.options.concurrency ?? 4);
    const perTransaction = Math.max(1, this.options.eventsPerTransaction ?? (store.dialect === 'sqlite' ? batchSize : 25));
    const waiting: StoredEvent[] = [];
    let claiming: Promise<void> | undefined;
    let nothingDue = false;
    let claimError: unknown;
    let claimedCount = 0;
    // Set as each claim arrives, so that its events are dealt evenly: every lane gets work even from a small claim.
    let groupSize = perTransaction;
    const claimMore = () =>
      (claiming ??= this.queue
        .claim(this.owner, this.now(), this.leaseMs, batchSize)
        .then(
          (claimed) => {
            waiting.push(...claimed);
            claimedCount += claimed.length;
            // (A claim that finds nothing keeps the size: the events a group gave back wait on.)
            if (claimed.length > 0) groupSize = Math.max(1, Math.min(perTransaction, Math.ceil(waiting.length / lanes)));
            nothingDue = claimed.length === 0;
          },
          (error: unknown) => {
            claimError = error;
          },
        )
        .finally(() => {
          claiming = undefined;
        }));
    const lane = async () => {
      for (;;) {
        if (this.stopping || claimError !== undefined) return;
        // Claim ahead while the lanes still have a round of groups in hand.
        if (!nothingDue && waiting.length <= perTransaction * lanes) void claimMore();
        if (waiting.length === 0) {
          if (nothingDue) return;
          await claiming;
          continue;
        }
        waiting.unshift(...(await this.processGroup(waiting.splice(0, groupSize))));
        // better-sqlite3 answers synchronously, so a drain would run as one chain of microtasks
        // and starve HTTP (intake, health checks) until the backlog is empty: let I/O in between.
        await yieldToEventLoop();
      }
    };
    await Promise.all(Array.from({ length: lanes }, lane));
    await claiming;
    if (waiting.length > 0) await this.queue.release(waiting.map((r) => r.id), this.owner);
    if (claimError !== undefined) throw claimError;
    return claimedCount;
  }

  /**
   * Applies claimed events of different subscriptions in one transaction. An event whose
   * preparation failed (its payload unreadable, or in refetch mode its Stripe read) has that
   * failure recorded at once, without a second read. Any event that fails in the transaction, and
   * every event when the group cannot commit (a lost lease, a customer linked meanwhile, a failed
   * write), falls back to being processed alone with what was prepared, so its failure is recorded
   * on it and does not hold back the others; each fallback is logged and counted. Returns the
   * events the group ended before (SQLite's time budget), still claimed.
   */
  private async processGroup(rows: StoredEvent[]): Promise<StoredEvent[]> {
    if (rows.length === 1) {
      await this.processEvent(rows[0]!);
      return [];
    }
    const startAnother = this.groupBudget();
    const prepared = new Map<string, PreparedEvent>();
    for (const row of rows) {
      const startedAt = this.now();
      try {
        prepared.set(row.id, this.preparedBefore.get(row) ?? (await this.prepare(row)));
      } catch (error) {
        await this.recordFailure(row, error, startedAt);
      }
    }
    const grouped = rows.filter((row) => prepared.has(row.id));
    const { applied, failed, unstarted, groupError } = await applyGroup(
      this.options.store,
      grouped,
      {
        apply: (records, row) => this.applyPrepared(records, row, prepared.get(row.id)!),
        completion: (events) => this.completion(events),
        startAnother,
      },
      this.now,
    );
    for (const row of unstarted) this.preparedBefore.set(row, prepared.get(row.id)!);
    for (const { row, value, startedAt, finishedAt } of applied) this.logApplied(row, value, finishedAt - startedAt);
    if (failed.length > 0) this.reportFallback(grouped.length, failed, groupError);
    for (const { row } of failed) await this.processEvent(row, prepared.get(row.id));
    return unstarted;
  }

  /** A group that fell back to one-by-one processing: a bug in the group write would otherwise only show as slow drains. */
  private reportFallback(groupSize: number, failed: { row: StoredEvent; error: unknown }[], groupError: unknown): void {
    const reason = groupError === undefined ? 'event_failed' : 'group_failed';
    this.options.onGroupFallback?.({ reason, events: failed.length });
    const errors = groupError === undefined ? failed.map(({ error }) => messageOf(error)) : [messageOf(groupError)];
    this.options.logger.warn(
      { reason, groupSize, eventIds: failed.map(({ row }) => row.id), errors, ...(groupError === undefined ? {} : { err: groupError }) },
      reason === 'group_failed'
        ? 'worker group could not commit; processing its events one by one'
        : 'events failed in a worker group; processing them one by one',
    );
  }

  /** SQLite: whether a group started now is still within its time budget (see groupBudgetMs). */
  private groupBudget(): ((started: number) => boolean) | undefined {
    if (this.options.store.dialect !== 'sqlite') return undefined;
    const endsAt = performance.now() + (this.options.groupBudgetMs ?? 16);
    // A group ends only at a multiple of BUDGET_STEP events, so that its statements, one text per
    // row count and each kept compiled by SQLite, stay a few sizes rather than any from 1 to 100.
    return (started) => started % BUDGET_STEP !== 0 || performance.now() < endsAt;
  }

  /** Applies one event this worker has claimed (with what a group prepared for it already). Never throws: a failure is recorded on the event. */
  async processEvent(row: StoredEvent, preparedInGroup?: PreparedEvent): Promise<void> {
    const { store, logger } = this.options;
    const startedAt = this.now();
    try {
      const prepared = preparedInGroup ?? (await this.prepare(row));
      const result = await store.db.transaction().execute(async (trx) => {
        const value = await this.applyPrepared(new SyncRepository(trx, store.dialect, this.now), row, prepared);
        await finishEvents(trx, this.completion([{ row, value, startedAt, finishedAt: this.now() }]));
        return value;
      });
      this.logApplied(row, result, this.now() - startedAt);
    } catch (error) {
      if (error instanceof LeaseLostError) {
        const durationMs = this.finished(row, 'lease_lost', startedAt);
        logger.warn({ eventId: row.id, type: row.type, attempt: row.attempts, outcome: 'lease_lost', durationMs }, `event rolled back: ${error.message}`);
        return;
      }
      await this.recordFailure(row, error, startedAt);
    }
  }

  /** Before any transaction: the stored event read back, and in refetch mode Stripe's current state of its subscription. */
  private async prepare(row: StoredEvent): Promise<PreparedEvent> {
    const event = readStoredEvent(row);
    return { event, fetched: event ? await this.readCurrentState(event) : undefined };
  }

  /** Inside the event's transaction: its effects, then the test seam. */
  private async applyPrepared(records: SyncRecords, row: WebhookEventRow, prepared: PreparedEvent): Promise<EventResult> {
    const result = await applyEvent(prepared.event, records, prepared.fetched);
    await this.options.afterApply?.(row);
    return result;
  }

  /** What the applying transaction writes last: each event's "applied" mark (kept only while this worker holds every lease) and its attempt log. */
  private completion(events: AppliedEvent<EventResult>[]): Completion {
    return {
      owner: this.owner,
      now: this.now(),
      finished: events.map(({ row, value }) => ({ id: row.id, status: value.status, outcome: value.outcome })),
      attempts: events.map(({ row, value, startedAt, finishedAt }) => ({ row, worker: this.owner, startedAt, finishedAt, outcome: value.status, error: null })),
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
    const durationMs = this.now() - startedAt;
    this.options.onAttempt?.({ type: row.type, outcome, durationMs });
    return durationMs;
  }

  /** Refetch mode: Stripe's state of the event's subscription, read before any transaction opens. */
  private async readCurrentState(event: StripeEvent): Promise<FetchedSubscription | undefined> {
    const read = this.options.readSubscription;
    if (!read) return undefined;
    const subscriptionId = await readingPayload(async () => subscriptionToRead(event));
    if (!subscriptionId) return undefined;
    const fetchedAt = this.now();
    return { object: await read(subscriptionId), fetchedAt };
  }

  private async recordFailure(row: StoredEvent, error: unknown, startedAt: number): Promise<void> {
    const retryable = !(error instanceof InvalidEventError);
    const message = messageOf(error);
    const next = retryable ? nextAttemptAt(row.attempts, this.options.retrySchedule, this.now(), this.options.random) : null;
    const outcome = next === null ? 'dead' : 'failed';
    try {
      await this.queue.fail(row, this.owner, message, next);
      await recordAttempts(this.options.store.db, [{ row, worker: this.owner, startedAt, finishedAt: this.now(), outcome, error: message }]);
    } catch (writeError) {
      // The lease runs out and another attempt follows; nothing is lost.
      this.options.logger.error({ eventId: row.id, err: writeError }, 'could not record a processing failure; the event stays claimed until its lease expires');
    }
    this.options.logger[outcome === 'dead' ? 'error' : 'warn'](
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

  private async prune(): Promise<void> {
    const days = this.options.retentionDays ?? 30;
    try {
      const deleted = await this.queue.prune(this.now() - days * 86_400_000);
      if (deleted > 0) this.options.logger.info({ deleted, retentionDays: days }, 'pruned old applied and ignored events');
    } catch (error) {
      this.options.logger.error({ err: error }, 'could not prune old events');
    }
  }
}
