/** Sync's records and the one transaction path that changes them (apply.ts). */
export { type Applied, applyChange, applyInTransaction, type TransactionOutcome } from './apply.js';
export type { SyncRecords } from './records.js';
export { recordFromRow } from './rows.js';
export { LinkedMeanwhileError } from './statements.js';
