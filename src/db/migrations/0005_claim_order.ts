import type { Kysely, Migration } from 'kysely';

export const claimOrder: Migration = {
  async up(db: Kysely<any>) {
    // The claim walks each status in queue order and stops at its limit, instead of sorting every waiting event.
    await db.schema.createIndex('webhook_events_claim').on('webhook_events').columns(['status', 'created', 'received_at']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('webhook_events_claim').ifExists().execute();
  },
};
