import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SCRATCH_REPORT_DIR } from '../../bench/flags.js';
import { BENCH_SECRET } from '../../bench/targets.js';
import { registerSecret } from '../helpers/log-scan.js';
import { ROOT, runScript } from '../helpers/processes.js';
import { docsReport } from './docs-report.js';

// The bench's servers write to /dev/null (the tail of their stderr only into an error): the secrets scan reads the bench's own output.
registerSecret('BENCH_SECRET', BENCH_SECRET);

/** Every verification of both paths succeeded, none sent a request while measured, and there were some. */
function expectVerified(tokens: {
  tokens: number;
  repeated: { failed: number; fetches: number; reps: { verifications: number }[] };
  signature: { failed: number; fetches: number; reps: { verifications: number }[] };
}) {
  expect(tokens.tokens).toBeGreaterThan(1);
  for (const path of [tokens.repeated, tokens.signature]) {
    expect([path.failed, path.fetches]).toEqual([0, 0]);
    for (const rep of path.reps) expect(rep.verifications).toBeGreaterThan(0);
  }
}

/** `npm run bench` at a tiny size, so that the benchmark cannot rot. Its figures are not judged here. */
describe('the benchmark entry point', () => {
  const reportDir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  afterAll(() => rmSync(reportDir, { recursive: true, force: true }));

  it('runs every scenario on both databases and writes the report, the chart and the figures', async () => {
    const flags = [
      '--concurrency',
      '1,4',
      '--target-concurrency',
      '4',
      '--reps',
      '1',
      '--events',
      '40',
      '--run-seconds',
      '1',
      '--backlog',
      '60',
      '--drain-seconds',
      '20',
      '--drain-intake-rate',
      '20',
      '--users',
      '200',
      '--small-users',
      '100',
      '--soak-seconds',
      '2',
      '--verifications',
      '500',
      '--report-dir',
      reportDir,
    ];
    const run = await runScript('bench/run.ts', flags, { timeoutMs: 120_000 });
    expect(run.code, run.output).toBe(0);
    const figures = JSON.parse(readFileSync(join(reportDir, 'performance', 'results.json'), 'utf8'));
    expect(Object.keys(figures.intake.service)).toEqual(['sqlite', 'postgres']);
    for (const series of [figures.intake.floor, figures.intake.docsStyle, figures.intake.service.sqlite, figures.intake.service.postgres]) {
      expect(series.levels.map((l: { concurrency: number; failed: number }) => [l.concurrency, l.failed])).toEqual([
        [1, 0],
        [4, 0],
      ]);
    }
    for (const series of [figures.intake.storeOnly.sqlite, figures.intake.storeOnly.postgres]) expect(series.levels[1].failed).toBe(0);
    // The default deployment applied every burst, timed after each run; intake alone is measured beside it.
    for (const backend of ['sqlite', 'postgres']) {
      for (const level of figures.intake.service[backend].levels)
        for (const rep of level.reps) expect(rep.appliedAfterMs).toBeLessThan(10_000);
      expect(figures.intake.intakeRole[backend].levels[1].failed).toBe(0);
      expect(figures.intake.intakeRole[backend].levels[1].reps[0].appliedAfterMs).toBeUndefined();
      expect(figures.entitlements[backend].largeIntakeRole.levels[1].failed).toBe(0);
      expect(figures.processing[backend].twoProcesses.drained).toBe(true);
    }
    expect(figures.processing.sqlite.drained && figures.processing.postgres.drained).toBe(true);
    expect(figures.entitlements.postgres.large.levels[1].rate).toBeGreaterThan(0);
    expect(figures.entitlements.sqlite.lookupOnly.levels[1].failed).toBe(0);
    expect(figures.entitlements.postgres.lookupOnly.levels[1].rate).toBeGreaterThan(0);
    // The tokens scenario compares with the entitlements scenario's checks of the same run instead of measuring them again.
    expect([figures.tokens.checks.sqlite.measuredBy, figures.tokens.checks.postgres.measuredBy]).toEqual(['entitlements', 'entitlements']);
    expect(figures.tokens.checks.postgres.level).toEqual(figures.entitlements.postgres.large.levels[1]);
    expectVerified(figures.tokens);
    for (const backend of ['sqlite', 'postgres']) {
      const { users, checks, consumes } = figures.usage[backend];
      expect(users).toBe(100);
      for (const series of [checks, consumes]) expect(series.levels.map((l: { failed: number }) => l.failed)).toEqual([0, 0]);
      expect(consumes.levels[1].rate).toBeGreaterThan(0);
    }
    expect(figures.soak.failed).toBe(0);
    expect(readFileSync(join(reportDir, 'performance', 'intake.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>$/);
    const report = readFileSync(join(reportDir, 'performance.md'), 'utf8');
    expect(report).toContain('| intake on sqlite, 4 in flight: events/s |');
    expect(report).toContain('| storing alone on postgres, 4 in flight: events/s |');
    expect(report).toContain('| intake on postgres, 4 in flight: every event of the burst applied, after it ends |');
    expect(report).toContain('| the same with the worker in a second process (PROCESS_ROLE=intake + PROCESS_ROLE=worker) on sqlite |');
    expect(report).toContain('| verifying a token ÷ GET /v1/entitlements on postgres: verifications/s ÷ checks/s, per core |');
    expect(report).toContain('| usage consumes (POST /v1/usage/:feature) on postgres, 100 users, 4 in flight: consumes/s, p99 |');
    expect(report).toContain('#### Usage consumes against GET /v1/entitlements');
    // The service is measured with the heap limit it is deployed with (npm start's flags).
    expect(figures.machine.serviceNodeArgs).toEqual([expect.stringMatching(/^--max-old-space-size=\d+$/)]);
  }, 150_000);

  it('runs the tokens scenario alone: real tokens verified by the package, and the checks measured beside them', async () => {
    const dir = join(reportDir, 'tokens');
    const flags = [
      '--scenarios',
      'tokens',
      '--backends',
      'sqlite',
      '--concurrency',
      '4',
      '--target-concurrency',
      '4',
      '--reps',
      '2',
      '--events',
      '40',
      '--run-seconds',
      '1',
      '--users',
      '200',
      '--verifications',
      '500',
      '--report-dir',
      dir,
    ];
    const run = await runScript('bench/run.ts', flags, { timeoutMs: 60_000 });
    expect(run.code, run.output).toBe(0);
    const { tokens } = JSON.parse(readFileSync(join(dir, 'performance', 'results.json'), 'utf8'));
    expect(tokens.tokenSource).toEqual({ backend: 'sqlite', users: 200 });
    expect(tokens.checks.sqlite).toMatchObject({ measuredBy: 'tokens', users: 200, level: { concurrency: 4, failed: 0 } });
    expect(tokens.checks.sqlite.level.reps).toHaveLength(2);
    expect(tokens.checks.sqlite.level.rate).toBeGreaterThan(0);
    expectVerified(tokens);
    expect(tokens.signature.reps).toHaveLength(2);
    // The keys were fetched once, in the first warm-up; the other path shares them.
    expect(run.stdout).toMatch(/repeated warm-up sent 1 requests/);
    expect(run.stdout).toMatch(/signature warm-up sent 0 requests/);
    const report = readFileSync(join(dir, 'performance.md'), 'utf8');
    expect(report).toContain(
      "| verifying a token in the seller's backend (verifier package, jwksUrl cached), every signature checked: verifications/s per core |",
    );
    expect(report).toMatch(
      /\| verifying a token ÷ GET \/v1\/entitlements on sqlite: verifications\/s ÷ checks\/s, per core \| every signature: [\d.]+×; seen again: \d+×/,
    );
    expect(report).toContain('#### Token verification against GET /v1/entitlements');
  }, 90_000);

  it("writes a partial run's report into the scratch dir, not into docs/", async () => {
    const before = docsReport();
    const flags = [
      '--scenarios',
      'processing',
      '--backends',
      'sqlite',
      '--reps',
      '1',
      '--backlog',
      '60',
      '--drain-seconds',
      '20',
      '--drain-intake-rate',
      '20',
    ];
    const { code, stdout, output } = await runScript('bench/run.ts', flags, { timeoutMs: 60_000 });
    expect(code, output).toBe(0);
    expect(docsReport()).toEqual(before);
    const reportFile = join(ROOT, SCRATCH_REPORT_DIR, 'performance.md');
    expect(stdout).toContain(`the report goes to ${reportFile} (a partial run`);
    expect(stdout).toContain(`report written to ${reportFile}`);
    expect(JSON.parse(readFileSync(join(ROOT, SCRATCH_REPORT_DIR, 'performance', 'results.json'), 'utf8')).processing.sqlite.drained).toBe(
      true,
    );
  }, 90_000);
});
