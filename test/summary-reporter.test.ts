import { describe, expect, it } from 'vitest';
import { runProcess } from './helpers/processes.js';

describe('the summary line', () => {
  it('counts the tests of a suite whose set-up failed as failed, not skipped; deliberate skips stay skipped', async () => {
    const run = await runProcess(
      process.execPath,
      ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/fixtures/reporter/vitest.config.ts'],
      {
        env: { ...process.env, TEST_DATABASE_URL: 'postgres://nobody:wrong@127.0.0.1:1/test' },
        timeoutMs: 60_000,
      },
    );
    expect(run.stdout.trim().split('\n').at(-1)).toBe('tests: 1 passed, 2 failed, 2 skipped');
    expect(run.code).toBe(1);
  }, 60_000);
});
