import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, type TestDatabase } from './helpers/databases.js';
import { runScript, startServiceProcess, stopServiceProcess } from './helpers/processes.js';

/** The password in every URL below; no output may contain it. */
const MARKER = 's3cret-marker';
const ENV = { STRIPE_WEBHOOK_SECRET: 'whsec_abcdefghijklmnop' };

/** A URL with its password as a parameter: PostgreSQL here trusts local connections, so it is not checked. */
function withPassword(url: string): string {
  return `${url}?password=${MARKER}`;
}

/**
 * A reachable database's URL with its password moved into a `password` parameter (where the
 * suite's role has none, the marker: a trusting server then ignores it), and that password.
 */
function withPasswordParameter(databaseUrl: string): { url: string; withoutPassword: string; password: string } {
  const url = new URL(databaseUrl);
  const password = decodeURIComponent(url.password) || MARKER;
  url.password = '';
  return { url: `${url}?password=${encodeURIComponent(password)}`, withoutPassword: url.toString(), password };
}

describe('the database password, in what the service and the migration CLI print', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createPostgresDatabase();
  });
  afterAll(() => database.drop());

  it('is masked in the start log line', async () => {
    const { url, withoutPassword, password } = withPasswordParameter(database.url);
    const service = await startServiceProcess({ ...ENV, DATABASE_URL: url });
    try {
      await expect.poll(() => service.output(), { timeout: 10_000 }).toContain('billing service ready');
    } finally {
      await stopServiceProcess(service);
    }
    expect(service.output()).not.toContain(password);
    expect(service.output()).toContain(`"database":"${withoutPassword}?password=***"`);
  });

  it('is masked in what `npm run migrate` prints', async () => {
    const { url, withoutPassword, password } = withPasswordParameter(database.url);
    const { code, stdout, output } = await runScript('src/cli/migrate.ts', [], {
      env: { PATH: process.env.PATH ?? '', ...ENV, DATABASE_URL: url },
    });
    expect(code, output).toBe(0);
    expect(output).not.toContain(password);
    expect(stdout).toContain(`Migrations applied to ${withoutPassword}?password=***`);
  });

  it.each([
    ['a password parameter', withPassword('postgres://postgres@127.0.0.1:1/test')],
    ['a password with "@"', `postgres://postgres:p@ss-${MARKER}@127.0.0.1:1/test`],
    ['a socket directory and a password parameter', `postgres:///test?host=/nonexistent/socket/dir&password=${MARKER}`],
    ['a key passphrase', `postgres://postgres@127.0.0.1:1/test?sslmode=require&sslpassword=${MARKER}`],
  ])('is masked in the start-up error for an unreachable database, with %s', async (_case, url) => {
    const failure = await startServiceProcess({ ...ENV, DATABASE_URL: url }).then(
      async (service) => {
        await stopServiceProcess(service);
        return new Error('the service started');
      },
      (error: Error) => error,
    );
    expect(failure.message).not.toContain(MARKER);
    expect(failure.message).toMatch(/service exited \(1\)[\s\S]*DATABASE_URL: cannot open postgres:\/\/[^\s]*\*\*\*/);
  });
});
