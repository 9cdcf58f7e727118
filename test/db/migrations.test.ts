import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { usePostgresStore } from '../helpers/store.js';

describe('PostgreSQL storage settings from the migrations', () => {
  const context = usePostgresStore();

  // The PostgreSQL these tests run on (Debian's 15) is built with lz4.
  it('store event payloads compressed with lz4, and read them back unchanged', async () => {
    const payload = JSON.stringify({ id: 'evt_lz4', object: 'event', filler: 'subscription '.repeat(400) });
    await context.store.db
      .insertInto('webhook_events')
      .values({ id: 'evt_lz4', type: 'customer.subscription.updated', api_version: null, livemode: 0, created: 1, received_at: 1, payload, status: 'pending', attempts: 0 })
      .execute();
    const { rows } = await sql<{ method: string; payload: string }>`
      select pg_column_compression(payload) as method, payload from webhook_events where id = 'evt_lz4'`.execute(context.store.db);
    expect(rows).toEqual([{ method: 'lz4', payload }]);
  });
});
