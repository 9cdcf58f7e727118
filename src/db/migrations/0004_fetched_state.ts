import type { Kysely, Migration } from 'kysely';

export const fetchedState: Migration = {
  async up(db: Kysely<any>) {
    // When the stored state was read from Stripe's API (ms); an older read never overwrites a newer one.
    await db.schema.alterTable('subscriptions').addColumn('synced_at', 'bigint').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('subscriptions').dropColumn('synced_at').execute();
  },
};
