import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/db/index.js';
import { migrateToLatest } from '../../src/db/migrations/index.js';
import { storedEvent } from '../../src/ops/views.js';
import { storeEvent } from '../../src/webhooks/store-event.js';
import { BACKENDS } from '../helpers/databases.js';
import { usePostgresStore } from '../helpers/store.js';

describe('PostgreSQL storage settings from the migrations', () => {
  const context = usePostgresStore();

  // The PostgreSQL these tests run on (Debian's 15) is built with lz4.
  it('store event payloads compressed with lz4, in the table itself (not TOAST), and read them back unchanged', async () => {
    // Compressible like a real event, but larger than the 2 KB above which PostgreSQL moves values out of line.
    const payload = JSON.stringify({
      id: 'evt_lz4',
      object: 'event',
      filler: Array.from({ length: 400 }, (_, i) => `subscription ${i * 7919}`),
    });
    await storeEvent(context.store, {
      id: 'evt_lz4',
      type: 'customer.subscription.updated',
      api_version: null,
      livemode: 0,
      created: 1,
      received_at: 1,
      payload,
      status: 'pending',
      attempts: 0,
    });
    const { rows } = await sql<{ method: string; payload: string }>`
      select pg_column_compression(payload) as method, payload from webhook_event_payloads where event_id = 'evt_lz4'`.execute(
      context.store.db,
    );
    expect(rows).toEqual([{ method: 'lz4', payload }]);
    const { rows: toast } = await sql<{ bytes: string }>`
      select pg_relation_size(reltoastrelid)::text as bytes from pg_class where relname = 'webhook_event_payloads'`.execute(
      context.store.db,
    );
    expect(toast).toEqual([{ bytes: '0' }]);
  });
});

describe.each(BACKENDS)('moving event payloads to their own table (0009), on $name', (backend) => {
  it('keeps every stored payload, readable as before, and drops the old column', async () => {
    const database = await backend.create();
    const store = await openStore(database.url, { migrate: false });
    try {
      const isPostgres = store.dialect === 'postgres';
      await migrateToLatest(store.db, isPostgres, '0008_check_covering_indexes');
      const payload = JSON.stringify({ id: 'evt_before_0009', object: 'event', data: { object: { note: 'stored before the split' } } });
      await sql`insert into webhook_events (id, type, livemode, created, received_at, payload, status, attempts)
        values ('evt_before_0009', 'customer.subscription.updated', 0, 1, 1, ${payload}, 'applied', 1)`.execute(store.db);
      expect(await migrateToLatest(store.db, isPostgres)).toContain('0009_event_payloads');
      expect(await storedEvent(store.db, 'evt_before_0009')).toMatchObject({ id: 'evt_before_0009', status: 'applied', payload });
      await expect(sql`select payload from webhook_events`.execute(store.db)).rejects.toThrow(/payload/);
    } finally {
      await store.close();
      await database.drop();
    }
  });
});

describe.each(BACKENDS)('one index for the token lookup (0010), on $name', (backend) => {
  it('keeps token hashes unique; PostgreSQL has one index on them, which carries the user id and account (0011)', async () => {
    const database = await backend.create();
    const store = await openStore(database.url);
    try {
      await store.db.insertInto('users').values({ id: 'usr_a', token_hash: 'hash_same', created_at: 1 }).execute();
      await expect(store.db.insertInto('users').values({ id: 'usr_b', token_hash: 'hash_same', created_at: 1 }).execute()).rejects.toThrow(
        /unique/i,
      );
      if (store.dialect === 'postgres') {
        const { rows } = await sql<{
          indexdef: string;
        }>`select indexdef from pg_indexes where tablename = 'users' and indexdef like '%token_hash%'`.execute(store.db);
        expect(rows.map((r) => r.indexdef)).toEqual([
          'CREATE UNIQUE INDEX users_token_lookup ON public.users USING btree (token_hash) INCLUDE (id, account_id)',
        ]);
      }
    } finally {
      await store.close();
      await database.drop();
    }
  });
});
