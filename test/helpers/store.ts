import { afterAll, beforeAll } from 'vitest';
import { openStore, type Store } from '../../src/db/index.js';
import { createPostgresDatabase, type TestDatabase } from './databases.js';

/** A migrated store on a new PostgreSQL database for the enclosing describe block, dropped after it. */
export function usePostgresStore(): { readonly store: Store } {
  let database: TestDatabase | undefined;
  const context = {} as { store: Store };
  beforeAll(async () => {
    database = await createPostgresDatabase();
    context.store = await openStore(database.url);
  });
  afterAll(async () => {
    await context.store?.close();
    await database?.drop();
  });
  return context;
}
