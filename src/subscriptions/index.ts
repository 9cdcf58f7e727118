/** Sync: applying stored Stripe events to subscription records, exactly once and in any order. */

export { linkNewCustomer, storeCompletedCheckout, storeFetchedSubscription } from './changes.js';
export type { SubscriptionRecord } from './decide.js';
export { HANDLED_EVENT_TYPES, isHandledEventType, isShortText, orderingKeyOf } from './event-types/index.js';
export { EventQueue } from './queue.js';
export { recordFromRow } from './records/index.js';
export { normalizeEmail, parseSubscription, type SubscriptionSnapshot, type SubscriptionStatus } from './stripe-objects.js';
export { InvalidEventError, SyncWorker, type SyncWorkerOptions, WorkerLockError } from './worker/index.js';
