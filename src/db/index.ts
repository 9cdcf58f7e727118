/** The store: SQLite or PostgreSQL through one set of Kysely queries, its schema, migrations and named locks. */

export { Batcher } from './batcher.js';
export { redactDatabaseUrl, withoutDatabaseSecrets } from './database-url.js';
export { NamedLock } from './named-lock.js';
export { dialectOf, openStore, preparedOnPostgres, type StoreOptions } from './open.js';
export type * from './schema.js';
export type { Dialect, Store } from './store.js';
export { inWriteTransaction } from './write-transaction.js';
