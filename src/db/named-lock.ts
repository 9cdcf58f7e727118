import { hostname } from 'node:os';
import type { Store } from './index.js';

/**
 * A lock row with a heartbeat, for "only one process does this": the SQLite worker, the alert
 * monitor. A fresh heartbeat of another owner keeps the lock; a stale one, or one whose process
 * is gone from this machine (a crash, a SIGKILL), is taken over. Owners are `host:pid:nonce`.
 */
export class NamedLock {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly name: string,
    readonly owner: string,
    private readonly staleAfterMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes or renews the lock; false when another live owner holds it. Renewed by a heartbeat until `release()`. */
  async tryAcquire(): Promise<boolean> {
    await this.takeOverFromDeadProcess();
    const now = this.now();
    await this.store.db
      .insertInto('worker_locks')
      .values({ name: this.name, owner: this.owner, heartbeat_at: now })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet({ owner: this.owner, heartbeat_at: now })
          .where((eb) => eb.or([eb('worker_locks.heartbeat_at', '<', now - this.staleAfterMs), eb('worker_locks.owner', '=', this.owner)])),
      )
      .execute();
    const holder = await this.holder();
    if (holder !== this.owner) return false;
    if (!this.timer) {
      this.timer = setInterval(() => void this.heartbeat(), Math.max(50, Math.floor(this.staleAfterMs / 3)));
      this.timer.unref();
    }
    return true;
  }

  async holder(): Promise<string | undefined> {
    const row = await this.store.db.selectFrom('worker_locks').select('owner').where('name', '=', this.name).executeTakeFirst();
    return row?.owner;
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.store.db.deleteFrom('worker_locks').where('name', '=', this.name).where('owner', '=', this.owner).execute();
  }

  private async heartbeat(): Promise<void> {
    await this.store.db
      .updateTable('worker_locks')
      .set({ heartbeat_at: this.now() })
      .where('name', '=', this.name)
      .where('owner', '=', this.owner)
      .execute()
      .catch(() => {});
  }

  /** A holder on this host whose pid no longer runs cannot be alive. */
  private async takeOverFromDeadProcess(): Promise<void> {
    const holder = await this.holder();
    const [host, pid] = holder?.split(':') ?? [];
    if (!holder || host !== hostname() || !pid || isRunning(Number(pid))) return;
    await this.store.db.deleteFrom('worker_locks').where('name', '=', this.name).where('owner', '=', holder).execute();
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
