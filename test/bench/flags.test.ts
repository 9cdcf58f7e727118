import { describe, expect, it } from 'vitest';
import { benchCommandFrom, SCRATCH_REPORT_DIR } from '../../bench/flags.js';
import { runScript } from '../helpers/processes.js';
import { docsReport } from './docs-report.js';

const bench = (args: string[]) => runScript('bench/run.ts', args, { timeoutMs: 20_000 });

describe('the benchmark command line', () => {
  it.each([
    [
      'a scenario it does not know',
      ['--scenarios', 'intakes'],
      /--scenarios: unknown "intakes"; valid: intake, processing, entitlements, tokens, usage, soak/,
    ],
    ['a backend it does not know', ['--backends', 'sqlite,postgress'], /--backends: unknown "postgress"; valid: sqlite, postgres/],
    ['a soak backend it does not know', ['--soak-backend', 'mysql'], /--soak-backend: unknown "mysql"; valid: sqlite, postgres/],
    ['a flag it does not know', ['--scenario', 'intake'], /Unknown option '--scenario'/],
    ['a number that is none', ['--reps', 'three'], /--reps: "three" is not a whole number of at least 1/],
    [
      'no verifications per round',
      ['--scenarios', 'tokens', '--verifications', '0'],
      /--verifications: "0" is not a whole number of at least 1/,
    ],
    ['a concurrency level that is none', ['--concurrency', '1,x'], /--concurrency: "x" is not a whole number of at least 1/],
    [
      'a target concurrency that is not measured',
      ['--concurrency', '1,4', '--target-concurrency', '64'],
      /--target-concurrency: 64 is not one of the --concurrency levels \(1, 4\)/,
    ],
    ['a stray argument', ['intake'], /Unexpected argument 'intake'/],
  ])(
    'refuses %s before running anything, with the valid values, and leaves docs/ as it is',
    async (_case, args, problem) => {
      const before = docsReport();
      const exit = await bench(args);
      expect(docsReport()).toEqual(before);
      expect(exit.code).toBe(2);
      expect(exit.stderr).toMatch(problem);
      // The usage follows, naming every flag and the valid scenarios and backends.
      expect(exit.stderr).toContain('Scenarios: intake, processing, entitlements, tokens, usage, soak. Backends: sqlite, postgres.');
      expect(exit.stdout).not.toContain('building');
    },
    30_000,
  );

  it('says in --help where the report goes', async () => {
    const exit = await bench(['--help']);
    expect(exit.code).toBe(0);
    expect(exit.stdout).toMatch(/goes\s+to docs\/ only from a full run \(every scenario on both backends\) or with --report-dir docs/);
    expect(exit.stdout).toContain(`${SCRATCH_REPORT_DIR}/`);
    expect(exit.stdout).toContain('[--verifications 100000]');
  }, 30_000);
});

describe('the tokens scenario on the command line', () => {
  it('is one of the scenarios, and --verifications bounds its rounds (100,000 unless told)', () => {
    const command = (args: string[]) => {
      const parsed = benchCommandFrom(args);
      if (parsed === 'help') throw new Error('not a run');
      return parsed;
    };
    expect(command([]).scenarios.has('tokens')).toBe(true);
    expect(command([]).options.verifications).toBe(100_000);
    const tokens = command(['--scenarios', 'tokens', '--backends', 'sqlite', '--verifications', '5000']);
    expect([...tokens.scenarios]).toEqual(['tokens']);
    expect(tokens.options).toMatchObject({ backends: ['sqlite'], verifications: 5000 });
  });
});

describe('the usage scenario on the command line', () => {
  it('is one of the scenarios, and runs alone when asked', () => {
    const parsed = benchCommandFrom(['--scenarios', 'usage', '--backends', 'postgres']);
    if (parsed === 'help') throw new Error('not a run');
    expect([...parsed.scenarios]).toEqual(['usage']);
    expect(parsed.options.backends).toEqual(['postgres']);
    const all = benchCommandFrom([]);
    expect(all !== 'help' && all.scenarios.has('usage')).toBe(true);
  });
});

describe('where the benchmark writes its report', () => {
  const reportDirOf = (args: string[]) => {
    const command = benchCommandFrom(args);
    return command === 'help' ? undefined : command.reportDir;
  };

  it('into docs/ from a full run: every scenario on both backends, at whatever size', () => {
    expect(reportDirOf([])).toBe('docs');
    expect(
      reportDirOf([
        '--scenarios',
        'soak,usage,tokens,entitlements,processing,intake',
        '--backends',
        'postgres,sqlite',
        '--reps',
        '1',
        '--soak-backend',
        'postgres',
      ]),
    ).toBe('docs');
  });

  it('into the scratch dir from a partial run', () => {
    expect(reportDirOf(['--scenarios', 'intake'])).toBe(SCRATCH_REPORT_DIR);
    expect(reportDirOf(['--scenarios', 'tokens'])).toBe(SCRATCH_REPORT_DIR);
    expect(reportDirOf(['--scenarios', 'intake,processing,entitlements,soak'])).toBe(SCRATCH_REPORT_DIR);
    expect(reportDirOf(['--scenarios', 'intake,processing,entitlements,tokens,soak'])).toBe(SCRATCH_REPORT_DIR);
    expect(reportDirOf(['--backends', 'sqlite'])).toBe(SCRATCH_REPORT_DIR);
  });

  it('where --report-dir says, docs/ included', () => {
    expect(reportDirOf(['--scenarios', 'intake', '--report-dir', 'docs'])).toBe('docs');
    expect(reportDirOf(['--report-dir', '/tmp/bench-report'])).toBe('/tmp/bench-report');
  });
});
