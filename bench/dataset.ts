import { createHash } from 'node:crypto';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { openStore } from '../src/db/index.js';
import { readEnvelope } from '../src/webhooks/envelope.js';
import { webhookEventWriter } from '../src/webhooks/group-commit.js';
import type { BenchEvent } from './events.js';

/** Bulk data for the benchmark: users with subscriptions, and a backlog of stored events. */

export type Backend = 'sqlite' | 'postgres';

/** The bearer token of benchmark user `i` (deterministic, so the load generator needs no list). */
export function benchToken(i: number): string {
  return `bench_token_${String(i).padStart(10, '0')}`;
}

/** Benchmark users' indices below `users` from a fixed-seed xorshift: runs are repeatable, users spread over the whole table. */
export function userSpread(users: number): () => number {
  let seed = 2463534242;
  return () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    seed >>>= 0;
    return seed % users;
  };
}

const STATUSES = ['active', 'active', 'active', 'trialing', 'past_due', 'canceled'] as const;

/**
 * Adds users `from`..`to`-1, each with a customer and a subscription, in big transactions
 * (SQLite: prepared statements; PostgreSQL: one server-side INSERT … SELECT per table).
 */
export async function seedUsers(backend: Backend, url: string, from: number, to: number): Promise<void> {
  const now = Date.now();
  const periodEnd = Math.floor(now / 1000) + 20 * 86_400;
  if (backend === 'postgres') {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const range = [from, to - 1];
      await client.query('begin');
      await client.query(
        `insert into users (id, token_hash, created_at)
         select 'usr_b' || i, encode(sha256(convert_to('bench_token_' || lpad(i::text, 10, '0'), 'UTF8')), 'hex'), ${now}
         from generate_series($1::int, $2::int) i`,
        range,
      );
      await client.query(
        `insert into customers (id, user_id, linked_by, deleted, updated_at)
         select 'cus_b' || i, 'usr_b' || i, 'evt_seed', 0, ${now} from generate_series($1::int, $2::int) i`,
        range,
      );
      await client.query(
        `insert into subscriptions (id, customer_id, status, price_id, product_id, current_period_start, current_period_end,
           cancel_at_period_end, past_due_since, last_event_id, last_event_type, last_event_created, updated_at)
         select 'sub_b' || i, 'cus_b' || i, (array[${STATUSES.map((s) => `'${s}'`).join(',')}])[1 + i % ${STATUSES.length}],
           'price_bench', 'prod_bench', ${periodEnd - 30 * 86_400}, ${periodEnd}, 0,
           case when i % ${STATUSES.length} = ${STATUSES.indexOf('past_due')} then ${periodEnd - 31 * 86_400} end,
           'evt_seed_' || i, 'customer.subscription.updated', ${periodEnd - 30 * 86_400}, ${now}
         from generate_series($1::int, $2::int) i`,
        range,
      );
      await client.query('commit');
      // As autovacuum would have by then on a database this size: statistics, and the visibility map
      // that lets the token lookup read its index alone (one query each: VACUUM refuses a transaction block).
      for (const table of ['users', 'customers', 'subscriptions']) await client.query(`vacuum analyze ${table}`);
    } finally {
      await client.end();
    }
    return;
  }
  const db = new SqliteDatabase(url.slice('sqlite:'.length));
  try {
    db.pragma('journal_mode = WAL');
    const user = db.prepare('insert into users (id, token_hash, created_at) values (?, ?, ?)');
    const customer = db.prepare("insert into customers (id, user_id, linked_by, deleted, updated_at) values (?, ?, 'evt_seed', 0, ?)");
    const subscription = db.prepare(
      `insert into subscriptions (id, customer_id, status, price_id, product_id, current_period_start, current_period_end,
         cancel_at_period_end, past_due_since, last_event_id, last_event_type, last_event_created, updated_at)
       values (?, ?, ?, 'price_bench', 'prod_bench', ?, ?, 0, ?, ?, 'customer.subscription.updated', ?, ?)`,
    );
    const insertRange = db.transaction((start: number, end: number) => {
      for (let i = start; i < end; i++) {
        const status = STATUSES[i % STATUSES.length]!;
        user.run(`usr_b${i}`, createHash('sha256').update(benchToken(i)).digest('hex'), now);
        customer.run(`cus_b${i}`, `usr_b${i}`, now);
        subscription.run(
          `sub_b${i}`,
          `cus_b${i}`,
          status,
          periodEnd - 30 * 86_400,
          periodEnd,
          status === 'past_due' ? periodEnd - 31 * 86_400 : null,
          `evt_seed_${i}`,
          periodEnd - 30 * 86_400,
          now,
        );
      }
    });
    // No ANALYZE here: the service gathers SQLite's statistics itself when it opens the store.
    for (let start = from; start < to; start += 100_000) insertRange(start, Math.min(to, start + 100_000));
  } finally {
    db.close();
  }
}

/** Stores events as intake would have (pending, deduplicated by id), without going through HTTP, and the users they name. */
export async function seedBacklog(url: string, events: readonly BenchEvent[], userIds: readonly string[] = []): Promise<void> {
  const store = await openStore(url);
  try {
    const receivedAt = Date.now();
    await store.db.transaction().execute(async (trx) => {
      for (let start = 0; start < userIds.length; start += 500) {
        await trx
          .insertInto('users')
          .values(userIds.slice(start, start + 500).map((id) => ({ id, token_hash: null, created_at: receivedAt })))
          .execute();
      }
    });
    const write = webhookEventWriter(store);
    for (let start = 0; start < events.length; start += 500) {
      await write(events.slice(start, start + 500).map((e) => readEnvelope(JSON.parse(e.body), Buffer.from(e.body), receivedAt)!));
    }
  } finally {
    await store.close();
  }
}
