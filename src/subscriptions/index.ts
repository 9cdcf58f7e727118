/** Sync: applying stored Stripe events to subscription records, exactly once and in any order. */
export { SyncWorker, type SyncWorkerOptions, WorkerLockError } from './worker.js';
export { EventQueue } from './queue.js';
export { isHandledEventType } from './handlers/index.js';
export { recordFromRow } from './repository.js';
export type { SubscriptionRecord } from './decide.js';
