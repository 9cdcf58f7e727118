/** The worker: a thin lifecycle (worker.ts) around the scheduler, the preparation and the processor of claimed events. */

export { WorkerLockError } from './lock.js';
export { InvalidEventError } from './prepare.js';
export { SyncWorker, type SyncWorkerOptions } from './worker.js';
