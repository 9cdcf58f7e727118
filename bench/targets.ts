import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateSigningKey } from '../src/config/index.js';
import { createPostgresDatabase, createSqliteDatabase, type TestDatabase } from '../test/helpers/databases.js';
import type { Backend } from './dataset.js';
import { type ServerProcess, startServer } from './processes.js';

/** The servers a benchmark drives: the service on each database, and the baselines. */

export const BENCH_SECRET = 'whsec_benchmark_secret_0123456789abcdef';
/** The key the service signs entitlement tokens with during a run (production mode requires one). */
const BENCH_SIGNING_KEYS = JSON.stringify([generateSigningKey()]);
/** Compiled once per run (see run.ts), so children run plain JavaScript like a deployment. */
export const BUILD_DIR = fileURLToPath(new URL(`../.bench/build-${process.pid}/`, import.meta.url));

function throwawayDatabase(backend: Backend): Promise<TestDatabase> {
  return backend === 'sqlite' ? createSqliteDatabase() : createPostgresDatabase();
}

/**
 * The service runs with the heap flags of `npm start`, as a deployment would: read from
 * package.json so the two cannot drift apart.
 */
export function deploymentNodeArgs(): string[] {
  const scripts = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).scripts as Record<string, string>;
  return scripts.start!.split(/\s+/).filter((arg) => arg.startsWith('--max-old-space-size='));
}

/** Set by `--cpu-prof DIR`: every service process writes a V8 CPU profile there when it stops. */
let serviceNodeArgs: string[] = deploymentNodeArgs();
export function profileServicesInto(dir: string): void {
  serviceNodeArgs = [...deploymentNodeArgs(), '--cpu-prof', `--cpu-prof-dir=${dir}`];
}

/** `env` is added to the service's environment (a scenario's own configuration, such as USAGE_LIMITS). */
export function startService(url: string, role: 'all' | 'intake' | 'worker', env: Record<string, string> = {}): Promise<ServerProcess> {
  return startServer(
    `service (${url.startsWith('sqlite:') ? 'sqlite' : 'postgres'})`,
    `${BUILD_DIR}src/main.js`,
    {
      NODE_ENV: 'production',
      STRIPE_WEBHOOK_SECRET: BENCH_SECRET,
      ENTITLEMENT_SIGNING_KEYS: BENCH_SIGNING_KEYS,
      DATABASE_URL: url,
      PROCESS_ROLE: role,
      LOG_LEVEL: 'info',
      ...env,
    },
    serviceNodeArgs,
  );
}

export function startBaseline(
  name: 'floor' | 'docs-style' | 'store-only' | 'constant-json' | 'lookup-only',
  databaseUrl?: string,
): Promise<ServerProcess> {
  return startServer(name, `${BUILD_DIR}bench/baselines/${name}.js`, {
    STRIPE_WEBHOOK_SECRET: BENCH_SECRET,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  });
}

/** Runs `body` with a fresh database of each backend given, every one dropped afterwards whatever happens. */
export async function withDatabases<T>(backends: readonly Backend[], body: (databases: TestDatabase[]) => Promise<T>): Promise<T> {
  const databases: TestDatabase[] = [];
  try {
    for (const backend of backends) databases.push(await throwawayDatabase(backend));
    return await body(databases);
  } finally {
    await Promise.all(databases.map((database) => database.drop()));
  }
}

export function withDatabase<T>(backend: Backend, body: (database: TestDatabase) => Promise<T>): Promise<T> {
  return withDatabases([backend], ([database]) => body(database!));
}

export function removeBuild(): void {
  rmSync(BUILD_DIR, { recursive: true, force: true });
}
