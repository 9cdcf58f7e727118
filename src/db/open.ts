import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import {
  type CompiledQuery,
  Kysely,
  type SqliteDatabase as KyselySqliteDatabase,
  PostgresAdapter,
  type PostgresCursor,
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryResult,
  SqliteDialect,
  sql,
} from 'kysely';
import pg from 'pg';
import { migrateToLatest } from './migrations/index.js';
import type { Database } from './schema.js';
import type { Dialect, Store } from './store.js';

// Stripe times and our millisecond clocks are int8 in PostgreSQL; read them as numbers, not strings.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface StoreOptions {
  migrate?: boolean;
  /** How long an SQLite write waits for another writer's lock before failing. */
  sqliteBusyTimeoutMs?: number;
}

/** Opens `sqlite:<path>` or `postgres://…` and applies migrations. */
export async function openStore(databaseUrl: string, options: StoreOptions = {}): Promise<Store> {
  const store = databaseUrl.startsWith('sqlite:')
    ? openSqlite(databaseUrl.slice('sqlite:'.length), options.sqliteBusyTimeoutMs ?? 5000)
    : openPostgres(databaseUrl);
  try {
    await store.ping();
    if (options.migrate !== false) await migrateToLatest(store.db, store.dialect === 'postgres');
    if (store.dialect === 'sqlite') return await keepingStatistics(store);
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
  return store;
}

const SQLITE_OPTIMIZE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * SQLite gathers no planner statistics by itself, and without them it reads a user's id from the
 * table instead of the covering token index (PostgreSQL's autovacuum analyses on its own). As
 * SQLite advises for long-lived connections: analyse every table never analysed when the store
 * opens (bounded by SQLite's own analysis limit: about a second at 1M users), then let
 * `optimize` re-analyse, hourly, the tables that grew or shrank a lot since.
 */
async function keepingStatistics(store: Store): Promise<Store> {
  await sql`pragma optimize = 0x10002`.execute(store.db);
  // A run that fails (the file busy past the lock timeout) only leaves older statistics in place
  // until the next hour's run, so it is not worth failing or logging anything for.
  const timer = setInterval(() => void sql`pragma optimize`.execute(store.db).catch(() => {}), SQLITE_OPTIMIZE_INTERVAL_MS).unref();
  return {
    ...store,
    close: () => {
      clearInterval(timer);
      return store.close();
    },
  };
}

function openSqlite(path: string, busyTimeoutMs: number): Store {
  const file = path === ':memory:' ? path : resolve(path);
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const database = new SqliteDatabase(file);
  database.pragma('journal_mode = WAL');
  // FULL: an acknowledged webhook survives a power cut, not only a process crash.
  database.pragma('synchronous = FULL');
  database.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
  database.pragma('foreign_keys = ON');
  return storeOf(new Kysely<Database>({ dialect: new SqliteDialect({ database: reusingStatements(database) }) }), 'sqlite');
}

/** Distinct SQL texts kept compiled; queries with `IN (…)` lists make many, so the oldest are dropped. */
const MAX_CACHED_STATEMENTS = 500;

/**
 * Kysely prepares every query anew, and compiling SQL is a large share of a short query's cost
 * (a tenth of an entitlement check): each SQL text is compiled once and its statement reused.
 * better-sqlite3 re-prepares a reused statement itself when the schema changed.
 */
function reusingStatements(database: SqliteDatabase.Database): KyselySqliteDatabase {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => database.close(),
    prepare(text) {
      let statement = statements.get(text);
      if (!statement) {
        if (statements.size >= MAX_CACHED_STATEMENTS) statements.delete(statements.keys().next().value!);
        statement = database.prepare(text);
        statements.set(text, statement);
      }
      return statement;
    },
  };
}

function openPostgres(url: string): Store {
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5000 });
  // A client losing its server (idle in the pool, or checked out between queries) must not crash
  // the process with an unhandled 'error' event; the next query on it reports the failure.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return storeOf(new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparingHotQueries(pool) }) }), 'postgres');
}

/** Names of the SQL texts marked by `preparedOnPostgres`, by text. */
const hotQueryNames = new Map<string, string>();

/**
 * Marks a query that runs often with a text of bounded variety: on PostgreSQL it becomes a named
 * prepared statement, parsed (and, once PostgreSQL judges a generic plan as good, planned) once
 * per connection instead of on every call. Used for the entitlement lookup (about twice the
 * lookups per second) and the worker's one write statement (`records/write-postgres.ts`). Every
 * pooled connection keeps each marked text, so only texts from a small set belong here; and only
 * statements whose plan cannot go stale as tables grow (a lookup by a unique key, an INSERT of
 * given rows), since a generic plan made on a small table would be kept. SQLite reuses every
 * statement anyway (`reusingStatements`).
 */
export function preparedOnPostgres<T extends CompiledQuery>(compiled: T): T {
  if (!hotQueryNames.has(compiled.sql)) hotQueryNames.set(compiled.sql, `hot_query_${hotQueryNames.size + 1}`);
  return compiled;
}

/** The pool as Kysely sees it, sending marked texts as named statements. */
function preparingHotQueries(pool: pg.Pool): PostgresPool {
  return {
    connect: async () => new PreparingClient(await pool.connect()),
    end: () => pool.end(),
  };
}

class PreparingClient implements PostgresPoolClient {
  constructor(private readonly client: pg.PoolClient) {}

  query<R>(sql: string, parameters: readonly unknown[]): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query(sqlOrCursor: string | PostgresCursor<unknown>, parameters: readonly unknown[] = []): unknown {
    // Kysely passes cursors for streamed queries; they go through unchanged.
    if (typeof sqlOrCursor !== 'string') return this.client.query(sqlOrCursor as never);
    return this.client.query({ name: hotQueryNames.get(sqlOrCursor), text: sqlOrCursor, values: [...parameters] });
  }

  release(): void {
    this.client.release();
  }
}

function storeOf(db: Kysely<Database>, dialect: Dialect): Store {
  return {
    db,
    dialect,
    async ping() {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}

/** The dialect of a database handle, for the few queries written differently on each. */
export function dialectOf(db: Kysely<Database>): Dialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}
