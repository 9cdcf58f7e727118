import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** The store as its users see it; in a file of its own so that db's parts need not import index.ts. */

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  /** Throws when the database does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
