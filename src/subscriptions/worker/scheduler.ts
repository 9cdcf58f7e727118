import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { StoredEvent } from '../../db/index.js';
import type { EventQueue } from '../queue.js';
import type { PreparedEvent } from './prepare.js';

/** A claimed event, with what an earlier group prepared for it when that group ended before it. */
export interface Claimed {
  row: StoredEvent;
  prepared?: PreparedEvent;
}

/** How a drain shares work out (see SyncWorkerOptions). */
export interface Schedule {
  /** Groups in flight at once (one on SQLite). */
  lanes: number;
  /** Events claimed at once. */
  batchSize: number;
  /** The largest group. */
  perTransaction: number;
  /** SQLite's time budget per group (ms); undefined for none. */
  groupBudgetMs: number | undefined;
}

/** The sizes at which the time budget may end a group: few sizes mean few statement texts, each kept compiled by SQLite. */
export const BUDGET_STEP = 25;

/** The size of the groups taken from `waiting` claimed events: dealt evenly, so that every lane gets work even from a small claim. */
export function groupSize(waiting: number, schedule: Pick<Schedule, 'lanes' | 'perTransaction'>): number {
  return Math.max(1, Math.min(schedule.perTransaction, Math.ceil(waiting / schedule.lanes)));
}

/** Whether to claim more now: while the lanes still have a round of groups in hand, unless the last claim found nothing. */
export function shouldClaimAhead(waiting: number, nothingDue: boolean, schedule: Pick<Schedule, 'lanes' | 'perTransaction'>): boolean {
  return !nothingDue && waiting <= schedule.perTransaction * schedule.lanes;
}

/** Whether a group that has started `started` events and run `elapsedMs` may start another: it ends only at a multiple of BUDGET_STEP. */
export function withinBudget(started: number, elapsedMs: number, budgetMs: number): boolean {
  return started % BUDGET_STEP !== 0 || elapsedMs < budgetMs;
}

/**
 * Whether the worker waits for intake before its next claim or group: while intake is busy (a burst
 * of deliveries in flight) and the oldest event not yet applied is younger than the limit. Past the
 * limit it takes its share again, so a burst delays applying by about the limit at most.
 */
export function shouldYieldToIntake(intakeBusy: boolean, backlogAgeMs: number, limitMs: number): boolean {
  return intakeBusy && backlogAgeMs < limitMs;
}

/** Runs one group; returns the events it did not start (still claimed, prepared). */
export type RunGroup = (group: Claimed[], startAnother: ((started: number) => boolean) | undefined) => Promise<Claimed[]>;

/**
 * One pass over the due events: lanes take groups from the claimed events while the next claim is
 * read, so that no lane waits for a claim or for the other lanes' groups. Events of one ordering
 * key are never in hand together (see EventQueue.claim), so overlapping claims keep their order.
 */
export class Drain {
  private readonly waiting: Claimed[] = [];
  private claiming: Promise<void> | undefined;
  private nothingDue = false;
  private claimError: unknown;
  private claimedCount = 0;
  private size: number;

  constructor(
    private readonly queue: EventQueue,
    private readonly claimOptions: { owner: string; leaseMs: number; now: () => number },
    private readonly schedule: Schedule,
    private readonly runGroup: RunGroup,
    private readonly stopping: () => boolean,
    /** Awaited before every claim and group: the worker's yielding to intake (SyncWorker). */
    private readonly pace: () => Promise<void>,
  ) {
    this.size = schedule.perTransaction;
  }

  /** Claims and applies events until none is due; what is left in hand at a stop is released. Returns how many it claimed. */
  async run(): Promise<number> {
    await Promise.all(Array.from({ length: this.schedule.lanes }, () => this.lane()));
    await this.claiming;
    const { owner } = this.claimOptions;
    if (this.waiting.length > 0)
      await this.queue.release(
        this.waiting.map((c) => c.row.id),
        owner,
      );
    if (this.claimError !== undefined) throw this.claimError;
    return this.claimedCount;
  }

  private async lane(): Promise<void> {
    for (;;) {
      await this.pace();
      if (this.stopping() || this.claimError !== undefined) return;
      if (shouldClaimAhead(this.waiting.length, this.nothingDue, this.schedule)) void this.claimMore();
      if (this.waiting.length === 0) {
        if (this.nothingDue) return;
        await this.claiming;
        continue;
      }
      this.waiting.unshift(...(await this.runGroup(this.waiting.splice(0, this.size), this.budget())));
      // better-sqlite3 answers synchronously, so a drain would run as one chain of microtasks
      // and starve HTTP (intake, health checks) until the backlog is empty: let I/O in between.
      await yieldToEventLoop();
    }
  }

  private claimMore(): Promise<void> {
    const { owner, leaseMs, now } = this.claimOptions;
    this.claiming ??= this.queue
      .claim(owner, now(), leaseMs, this.schedule.batchSize)
      .then(
        (claimed) => {
          this.waiting.push(...claimed.map((row) => ({ row })));
          this.claimedCount += claimed.length;
          // (A claim that finds nothing keeps the size: the events a group gave back wait on.)
          if (claimed.length > 0) this.size = groupSize(this.waiting.length, this.schedule);
          this.nothingDue = claimed.length === 0;
        },
        (error: unknown) => {
          this.claimError = error;
        },
      )
      .finally(() => {
        this.claiming = undefined;
      });
    return this.claiming;
  }

  /** The time budget of a group started now (SQLite: its statements hold the only connection, so intake waits for the whole group). */
  private budget(): ((started: number) => boolean) | undefined {
    const { groupBudgetMs } = this.schedule;
    if (groupBudgetMs === undefined) return undefined;
    const startedAt = performance.now();
    return (started) => withinBudget(started, performance.now() - startedAt, groupBudgetMs);
  }
}
