import type { Reporter, TestCase, TestModule } from 'vitest/node';

/**
 * Ends the run with one plain line, "tests: N passed, N failed, N skipped", that any CI can read.
 * A test that did not run because a hook of its suite failed (a `beforeAll` that could not reach
 * PostgreSQL) counts as failed, not skipped; so does a suite or file that failed with no test
 * failing for it (a failing `afterAll`, a file that does not load).
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed' || notRunBecauseSetUpFailed(test)) counts.failed++;
        else counts.skipped++;
      }
      for (const suite of [module, ...module.children.allSuites()]) {
        const failedHere = [...suite.children.allTests()].some(
          (test) => test.result().state === 'failed' || notRunBecauseSetUpFailed(test),
        );
        if (suite.errors().length > 0 && !failedHere) counts.failed++;
        else if (suite.type === 'module' && suite.state() === 'failed' && suite.children.size === 0) counts.failed++;
      }
    }
    process.stdout.write(`\ntests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}

/** Skipped although it was to run (not `.skip`, `.todo` or filtered out), under a suite or file with errors. */
function notRunBecauseSetUpFailed(test: TestCase): boolean {
  if (test.result().state !== 'skipped' || (test.options.mode !== 'run' && test.options.mode !== 'only')) return false;
  for (let parent: TestCase['parent'] | undefined = test.parent; parent; parent = parent.type === 'module' ? undefined : parent.parent) {
    if (parent.errors().length > 0) return true;
  }
  return false;
}
