/** Sync's records and the one transaction path that changes them (apply.ts). */
export { type Applied, applyChange, applyInTransaction, type ChangeOptions } from './apply.js';
export type { Needs, SyncRecords } from './records.js';
export { recordFromRow } from './rows.js';
export { LinkedMeanwhileError } from './statements.js';
