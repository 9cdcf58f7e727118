import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import type { NamedLock } from '../../db/index.js';

/** How often a worker waiting for the SQLite lock of a process on another host tries again. */
const LOCK_RETRY_MS = 1_000;

export class WorkerLockError extends Error {
  override name = 'WorkerLockError';
}

/**
 * A holder whose process is gone (a crash, a SIGKILL, a zombie) is taken over at once; one on
 * another host cannot be checked from here, so it keeps the lock until its heartbeat is stale.
 */
export async function acquireWorkerLock(lock: NamedLock, logger: FastifyBaseLogger, now: () => number): Promise<void> {
  let waitingLogged = false;
  for (;;) {
    const attempt = await lock.tryAcquire();
    if (attempt.acquired) {
      if (attempt.tookOverFrom)
        logger.warn({ previousHolder: attempt.tookOverFrom }, 'took over the SQLite worker lock from a process that is gone');
      else if (waitingLogged) logger.warn('took over the SQLite worker lock: its holder on another host stopped renewing it');
      return;
    }
    if (attempt.holderState === 'alive_here') {
      throw new WorkerLockError(
        `another process (${attempt.holder}) is running the worker on this SQLite database; SQLite supports one worker process. ` +
          'Stop it, run this process with --no-worker (intake only), or use PostgreSQL (DATABASE_URL=postgres://…) to run several instances.',
      );
    }
    if (!waitingLogged) {
      waitingLogged = true;
      const staleInMs = Math.max(0, attempt.heartbeatAt + lock.staleAfterMs - now());
      logger.warn(
        { holder: attempt.holder, staleAfterMs: lock.staleAfterMs, staleInMs },
        'the SQLite worker lock is held by a process on another host, which cannot be checked from here; waiting until its heartbeat is stale',
      );
    }
    await sleep(LOCK_RETRY_MS);
  }
}
