import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import { NamedLock, type Store, type StoredEvent } from '../../db/index.js';
import { EventQueue } from '../queue.js';
import { acquireWorkerLock } from './lock.js';
import { EventProcessor, type ProcessOptions } from './process.js';
import { Drain, type Schedule, shouldYieldToIntake } from './scheduler.js';

/** What the worker yields to (see shouldYieldToIntake). */
interface IntakePriority {
  /** Whether intake is in a burst now. */
  busy: () => boolean;
  /** How old the oldest unapplied event may get before the worker takes its share again (ms). */
  limitMs: number;
  /** Told of every wait: how long it lasted and why it ended. */
  onYield?: (ms: number, ended: 'intake_idle' | 'limit') => void;
}

/** How often a yielding worker looks at intake again. */
const YIELD_POLL_MS = 20;
/** Waits at least this long are logged (shorter ones only counted: a busy service has many). */
const LOGGED_YIELD_MS = 1000;

export interface SyncWorkerOptions extends Omit<ProcessOptions, 'owner' | 'now'> {
  store: Store;
  logger: FastifyBaseLogger;
  /** Delays (ms) before each retry; after the last one a failing event is dead. */
  retrySchedule: number[];
  /** How often to look for due events when nothing kicks the worker (events stored by other processes, retries). */
  pollIntervalMs?: number;
  /** How long a claim lasts; a worker that dies loses its events to others after this. */
  leaseMs?: number;
  /** Groups applied at once (of different subscriptions). SQLite applies one at a time whatever this says. */
  concurrency?: number;
  /** Events claimed at once (default 100). */
  batchSize?: number;
  /**
   * Events (of different subscriptions) applied together in one transaction (see records/apply.ts).
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
  /**
   * Runs inside each event's transaction after its effects and before its commit. Only tests
   * pass it (to inject failures and crashes); nothing in the configuration can set it.
   */
  afterApply?: ProcessOptions['afterApply'];
  /**
   * Refetch mode: reads a subscription's current state from Stripe. Called before the event's
   * transaction opens, never inside it; a failure is a retryable processing failure, unless it
   * throws InvalidEventError.
   */
  readSubscription?: ProcessOptions['readSubscription'];
  /** The default deployment (intake in the same process): intake comes first while a burst lasts. */
  intakePriority?: IntakePriority;
}

function scheduleOf(options: SyncWorkerOptions): Schedule {
  const sqlite = options.store.dialect === 'sqlite';
  const batchSize = options.batchSize ?? 100;
  return {
    lanes: sqlite ? 1 : Math.max(1, options.concurrency ?? 4),
    batchSize,
    perTransaction: Math.max(1, options.eventsPerTransaction ?? (sqlite ? batchSize : 25)),
    groupBudgetMs: sqlite ? (options.groupBudgetMs ?? 16) : undefined,
  };
}

/**
 * Applies stored events to the records: the lifecycle (lock, timers, drains, pruning) around the
 * scheduler (./scheduler.ts) and the processor (./process.ts). Events are claimed with a lease;
 * each event's effects and its "applied" mark commit in one transaction that also checks the lease
 * is still held, so an event is applied exactly once whatever crashes, restarts or other workers
 * happen. Failures are retried on the schedule, then the event is dead.
 */
export class SyncWorker {
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly queue: EventQueue;
  private readonly processor: EventProcessor;
  private readonly now: () => number;
  /** SQLite serves one worker process per database file. */
  private readonly lock: NamedLock | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopping = false;
  private timers: NodeJS.Timeout[] = [];
  /**
   * When the oldest event not yet applied may have arrived, at the latest: the first kick since the
   * worker last found nothing due. An upper bound of the backlog's age, and 0 (very old) at start,
   * when the age of what is stored is unknown.
   */
  private backlogSince: number | undefined = 0;

  constructor(private readonly options: SyncWorkerOptions) {
    this.now = options.now ?? Date.now;
    this.queue = new EventQueue(options.store);
    this.processor = new EventProcessor({ ...options, owner: this.owner, now: this.now }, this.queue);
    const onHeartbeatError = (error: unknown) =>
      options.logger.error({ err: error }, 'could not renew the SQLite worker lock; another process may take it over once it is stale');
    this.lock =
      options.store.dialect === 'sqlite'
        ? new NamedLock(options.store, 'sqlite-worker', this.owner, 15_000, this.now, onHeartbeatError)
        : undefined;
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
    this.backlogSince ??= this.now();
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

  /** Applies one event this worker has claimed, alone. Never throws: a failure is recorded on the event. */
  async processEvent(row: StoredEvent): Promise<void> {
    await this.processor.process([{ row }]);
  }

  private async drainLoop(): Promise<void> {
    do {
      this.again = false;
      try {
        // A claim finds nothing while later events of the subscriptions in hand wait for them: a pass
        // that claimed anything is followed by another.
        while (!this.stopping && (await this.drainOnce()) > 0);
        // Nothing due, and nothing stored since that pass began: no backlog.
        if (!this.again) this.backlogSince = undefined;
      } catch (error) {
        // The database is unreachable: the poll timer tries again.
        this.options.logger.error({ err: error }, 'sync worker could not read the event queue');
        return;
      }
    } while (this.again && !this.stopping);
  }

  private drainOnce(): Promise<number> {
    const claim = { owner: this.owner, leaseMs: this.options.leaseMs ?? 60_000, now: this.now };
    const drain = new Drain(
      this.queue,
      claim,
      scheduleOf(this.options),
      (group, startAnother) => this.processor.process(group, startAnother),
      () => this.stopping,
      () => this.yieldToIntake(),
    );
    return drain.run();
  }

  /** Waits while intake is in a burst, until it is not or the backlog reaches the limit (see shouldYieldToIntake). */
  private async yieldToIntake(): Promise<void> {
    const priority = this.options.intakePriority;
    if (!priority) return;
    const backlogAge = () => this.now() - (this.backlogSince ?? this.now());
    if (!shouldYieldToIntake(priority.busy(), backlogAge(), priority.limitMs)) return;
    const started = this.now();
    while (!this.stopping && shouldYieldToIntake(priority.busy(), backlogAge(), priority.limitMs)) await sleep(YIELD_POLL_MS);
    const ms = this.now() - started;
    const ended = priority.busy() ? 'limit' : 'intake_idle';
    priority.onYield?.(ms, ended);
    if (ms >= LOGGED_YIELD_MS || ended === 'limit')
      this.options.logger.info(
        { yieldedMs: ms, ended, backlogAgeMs: backlogAge() },
        'sync worker yielded to a burst of webhook deliveries',
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
