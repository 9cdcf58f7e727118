/** Sync: applying stored Stripe events to subscription records, exactly once and in any order. */
export { InvalidEventError, SyncWorker, type SyncWorkerOptions } from './worker.js';
export { WorkerLockError } from './worker-lock.js';
export { storeCompletedCheckout, storeFetchedSubscription } from './fetched.js';
export { SyncRepository } from './repository.js';
export { parseSubscription } from './stripe-objects.js';
export { EventQueue } from './queue.js';
export { isHandledEventType } from './handlers/index.js';
export { type AccessRecord, type AccessRow, accessRecordFromRow, recordFromRow } from './repository.js';
export type { SubscriptionRecord } from './decide.js';
export { EVENT_HANDLERS } from './handlers/index.js';
