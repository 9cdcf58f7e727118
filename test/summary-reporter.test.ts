import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;

describe('the summary line', () => {
  it('counts the tests of a suite whose set-up failed as failed, not skipped; deliberate skips stay skipped', () => {
    const run = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/fixtures/reporter/vitest.config.ts'], {
      cwd: ROOT,
      env: { ...process.env, TEST_DATABASE_URL: 'postgres://nobody:wrong@127.0.0.1:1/test' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.stdout.trim().split('\n').at(-1)).toBe('tests: 1 passed, 2 failed, 2 skipped');
    expect(run.status).toBe(1);
  });
});
