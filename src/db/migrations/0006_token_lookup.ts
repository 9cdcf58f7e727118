import type { Kysely, Migration } from 'kysely';

export const tokenLookup: Migration = {
  async up(db: Kysely<any>) {
    // An entitlement check finds the user by token hash in the index alone (no table read for its id).
    await db.schema.createIndex('users_token_lookup').on('users').columns(['token_hash', 'id']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('users_token_lookup').ifExists().execute();
  },
};
