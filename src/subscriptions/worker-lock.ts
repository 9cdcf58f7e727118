import { hostname } from 'node:os';
import type { Store } from '../db/index.js';

const LOCK_NAME = 'sqlite-worker';

export class WorkerLockError extends Error {
  override name = 'WorkerLockError';
}

/**
 * SQLite serves one worker process per database file. The worker holds a row with a heartbeat;
 * a second process finds a fresh heartbeat and refuses to run its worker, while a stale one, or
 * one whose process is gone from this machine (a crash, a SIGKILL), is taken over.
 */
export class SqliteWorkerLock {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly owner: string,
    private readonly staleAfterMs: number,
    private readonly now: () => number,
  ) {}

  async acquire(): Promise<void> {
    await this.takeOverFromDeadProcess();
    const now = this.now();
    await this.store.db
      .insertInto('worker_locks')
      .values({ name: LOCK_NAME, owner: this.owner, heartbeat_at: now })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet({ owner: this.owner, heartbeat_at: now })
          .where((eb) => eb.or([eb('worker_locks.heartbeat_at', '<', now - this.staleAfterMs), eb('worker_locks.owner', '=', this.owner)])),
      )
      .execute();
    const holder = await this.store.db.selectFrom('worker_locks').selectAll().where('name', '=', LOCK_NAME).executeTakeFirstOrThrow();
    if (holder.owner !== this.owner) {
      throw new WorkerLockError(
        `another process (${holder.owner}) is running the worker on this SQLite database; SQLite supports one worker process. ` +
          'Stop it, run this process with --no-worker (intake only), or use PostgreSQL (DATABASE_URL=postgres://…) to run several instances.',
      );
    }
    this.timer = setInterval(() => {
      this.store.db
        .updateTable('worker_locks')
        .set({ heartbeat_at: this.now() })
        .where('name', '=', LOCK_NAME)
        .where('owner', '=', this.owner)
        .execute()
        .catch(() => {});
    }, Math.max(50, Math.floor(this.staleAfterMs / 3)));
    this.timer.unref();
  }

  /** Owners are `host:pid:nonce`; a holder on this host whose pid no longer runs cannot be alive. */
  private async takeOverFromDeadProcess(): Promise<void> {
    const holder = await this.store.db.selectFrom('worker_locks').selectAll().where('name', '=', LOCK_NAME).executeTakeFirst();
    const [host, pid] = holder?.owner.split(':') ?? [];
    if (!holder || host !== hostname() || !pid || isRunning(Number(pid))) return;
    await this.store.db.deleteFrom('worker_locks').where('name', '=', LOCK_NAME).where('owner', '=', holder.owner).execute();
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.store.db.deleteFrom('worker_locks').where('name', '=', LOCK_NAME).where('owner', '=', this.owner).execute();
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
