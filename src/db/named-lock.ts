import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Store } from './store.js';

/** What can be known of a lock's holder from here. */
export type HolderState =
  /** Its process is gone (not running, or a zombie not yet reaped): its heartbeat means nothing. */
  | 'gone'
  /** Its process runs on this host. */
  | 'alive_here'
  /** On another host (or an owner of another form): only its heartbeat tells whether it lives. */
  | 'unverifiable';

export type ProcessState = 'running' | 'zombie' | 'gone';

/**
 * Whether the holder `host:pid:nonce` of a lock can be alive, seen from the process `self`, which
 * knows the owners its own locks use. A holder with our host and pid that is none of those is an
 * earlier run of a process that had our pid (a container restarted): we are that pid now, so it
 * is gone.
 */
export function holderState(
  owner: string,
  self: { host: string; pid: number; owners: ReadonlySet<string> },
  processState: (pid: number) => ProcessState,
): HolderState {
  const [host, pidText] = owner.split(':');
  const pid = Number(pidText);
  if (host !== self.host || !Number.isInteger(pid) || pid <= 0) return 'unverifiable';
  if (pid === self.pid) return self.owners.has(owner) ? 'alive_here' : 'gone';
  return processState(pid) === 'running' ? 'alive_here' : 'gone';
}

/** The owners of the locks of this process (two workers in one process hold locks of their own). */
const ownersInThisProcess = new Set<string>();

/**
 * A process's state from `/proc/<pid>/stat` (its third field, after the parenthesised name,
 * which may itself hold spaces and parentheses). A killed process stays a zombie until its
 * parent reaps it, and signal 0 still reaches a zombie. Without /proc, signal 0 decides.
 */
export function processStateOf(pid: number): ProcessState {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && hasProc()) return 'gone';
    return answersSignalZero(pid) ? 'running' : 'gone';
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'Z' || state === 'X' ? 'zombie' : 'running';
}

/** Whether this system has /proc at all (Linux); read once. */
let procAvailable: boolean | undefined;
function hasProc(): boolean {
  if (procAvailable === undefined) {
    try {
      readFileSync('/proc/self/stat');
      procAvailable = true;
    } catch {
      procAvailable = false;
    }
  }
  return procAvailable;
}

function answersSignalZero(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export type LockAttempt =
  | { acquired: true; tookOverFrom?: string }
  | { acquired: false; holder: string; holderState: HolderState; heartbeatAt: number };

/**
 * A lock row with a heartbeat, for "only one process does this": the SQLite worker, the alert
 * monitor. A fresh heartbeat of another live owner keeps the lock; a stale one, or one whose
 * process is gone from this host (a crash, a SIGKILL), is taken over. Owners are `host:pid:nonce`.
 */
export class NamedLock {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly name: string,
    readonly owner: string,
    readonly staleAfterMs: number,
    private readonly now: () => number = Date.now,
    /** Told when a heartbeat cannot be written; the lock may then go stale and pass to another process. */
    private readonly onHeartbeatError: (error: unknown) => void = () => {},
    private readonly processState: (pid: number) => ProcessState = processStateOf,
  ) {
    ownersInThisProcess.add(owner);
  }

  /** Takes or renews the lock; when another owner keeps it, says who and what is known of it. Renewed by a heartbeat until `release()`. */
  async tryAcquire(): Promise<LockAttempt> {
    const tookOverFrom = await this.takeOverFromGoneProcess();
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
    if (holder && holder.owner !== this.owner) {
      return { acquired: false, holder: holder.owner, holderState: this.stateOf(holder.owner), heartbeatAt: holder.heartbeatAt };
    }
    if (!this.timer) {
      this.timer = setInterval(() => void this.heartbeat(), Math.max(50, Math.floor(this.staleAfterMs / 3)));
      this.timer.unref();
    }
    return tookOverFrom ? { acquired: true, tookOverFrom } : { acquired: true };
  }

  async holder(): Promise<{ owner: string; heartbeatAt: number } | undefined> {
    const row = await this.store.db
      .selectFrom('worker_locks')
      .select(['owner', 'heartbeat_at'])
      .where('name', '=', this.name)
      .executeTakeFirst();
    return row && { owner: row.owner, heartbeatAt: Number(row.heartbeat_at) };
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.store.db.deleteFrom('worker_locks').where('name', '=', this.name).where('owner', '=', this.owner).execute();
  }

  private stateOf(owner: string): HolderState {
    return holderState(owner, { host: hostname(), pid: process.pid, owners: ownersInThisProcess }, this.processState);
  }

  private async heartbeat(): Promise<void> {
    await this.store.db
      .updateTable('worker_locks')
      .set({ heartbeat_at: this.now() })
      .where('name', '=', this.name)
      .where('owner', '=', this.owner)
      .execute()
      .catch(this.onHeartbeatError);
  }

  /** A holder whose process is gone cannot be alive, however fresh its last heartbeat: its row is removed. Returns that holder. */
  private async takeOverFromGoneProcess(): Promise<string | undefined> {
    const holder = await this.holder();
    if (!holder || holder.owner === this.owner || this.stateOf(holder.owner) !== 'gone') return undefined;
    await this.store.db.deleteFrom('worker_locks').where('name', '=', this.name).where('owner', '=', holder.owner).execute();
    return holder.owner;
  }
}
