import { parseArgs } from 'node:util';
import type { Backend } from './dataset.js';
import type { BenchOptions } from './scenarios.js';

/** The command line of `npm run bench`, checked whole before anything runs: a typo fails, it does not run less. */

const SCENARIOS = ['intake', 'processing', 'entitlements', 'tokens', 'usage', 'soak'] as const;
type Scenario = (typeof SCENARIOS)[number];
const BACKENDS: readonly Backend[] = ['sqlite', 'postgres'];

/** Where the report of a partial run goes unless `--report-dir` is given (ignored by git, beside the bench's builds). */
export const SCRATCH_REPORT_DIR = '.bench/report';

export const USAGE = `npm run bench -- [--scenarios intake,processing,entitlements,tokens,usage,soak] [--backends sqlite,postgres]
  [--concurrency 1,8,32,64] [--target-concurrency 64] [--reps 3] [--events 5000] [--run-seconds 5]
  [--backlog 100000] [--drain-seconds 300] [--drain-intake-rate 200] [--linked-users]  (backlog events name existing users in metadata.user_id)
  [--users 1000000] [--small-users 10000] [--soak-seconds 600] [--soak-backend sqlite] [--report-dir DIR]
  [--verifications 100000]  (tokens: verifyEntitlement calls per round, at most, and --run-seconds at most)
  [--cpu-prof DIR]  (each service process writes a V8 CPU profile into DIR)
  usage: POST /v1/usage/:feature consumes beside GET /v1/entitlements, at --small-users users, on every --backends

Scenarios: ${SCENARIOS.join(', ')}. Backends: ${BACKENDS.join(', ')}. Counts are whole numbers of at least 1,
durations and rates positive numbers; --target-concurrency is one of the --concurrency levels.
The report (performance.md's generated block, performance/results.json, performance/intake.svg) goes
to docs/ only from a full run (every scenario on both backends) or with --report-dir docs; any other
run writes it to ${SCRATCH_REPORT_DIR}/, or to --report-dir DIR.`;

/** A command line the bench does not know; the message names the problem and ends with the usage. */
export class UsageError extends Error {
  constructor(problem: string) {
    super(`${problem}\n\n${USAGE}`);
    this.name = 'UsageError';
  }
}

export interface BenchCommand {
  scenarios: ReadonlySet<Scenario>;
  options: Omit<BenchOptions, 'log'>;
  /** Relative to the repository. */
  reportDir: string;
  cpuProfileDir: string | undefined;
}

/** The run `args` ask for, or 'help'; throws UsageError for an unknown flag or value. */
export function benchCommandFrom(args: string[]): BenchCommand | 'help' {
  const flags = parsedFlags(args);
  if (flags.help) return 'help';
  const scenarios = new Set(choices('scenarios', flags.scenarios, SCENARIOS));
  const backends = choices('backends', flags.backends, BACKENDS);
  const concurrency = list(flags.concurrency).map((level) => positiveInteger('concurrency', level));
  if (concurrency.length === 0) throw new UsageError('--concurrency: no level given');
  const targetConcurrency = positiveInteger('target-concurrency', flags['target-concurrency']);
  // The targets are judged at this level: at one not measured, the report would leave them out.
  if (!concurrency.includes(targetConcurrency))
    throw new UsageError(`--target-concurrency: ${targetConcurrency} is not one of the --concurrency levels (${concurrency.join(', ')})`);
  const reportDir = directory('report-dir', flags['report-dir']);
  const fullRun = SCENARIOS.every((scenario) => scenarios.has(scenario)) && BACKENDS.every((backend) => backends.includes(backend));
  return {
    scenarios,
    options: {
      backends,
      concurrency,
      targetConcurrency,
      reps: positiveInteger('reps', flags.reps),
      events: positiveInteger('events', flags.events),
      runSeconds: positiveNumber('run-seconds', flags['run-seconds']),
      backlog: positiveInteger('backlog', flags.backlog),
      drainSeconds: positiveNumber('drain-seconds', flags['drain-seconds']),
      drainIntakeRate: positiveNumber('drain-intake-rate', flags['drain-intake-rate']),
      linkedUsers: flags['linked-users'],
      users: positiveInteger('users', flags.users),
      smallUsers: positiveInteger('small-users', flags['small-users']),
      verifications: positiveInteger('verifications', flags.verifications),
      soakSeconds: positiveNumber('soak-seconds', flags['soak-seconds']),
      soakBackend: oneOf('soak-backend', flags['soak-backend'], BACKENDS),
    },
    reportDir: reportDir ?? (fullRun ? 'docs' : SCRATCH_REPORT_DIR),
    cpuProfileDir: directory('cpu-prof', flags['cpu-prof']),
  };
}

function parsedFlags(args: string[]) {
  try {
    return parseArgs({
      args,
      strict: true,
      options: {
        scenarios: { type: 'string', default: SCENARIOS.join(',') },
        backends: { type: 'string', default: BACKENDS.join(',') },
        concurrency: { type: 'string', default: '1,8,32,64' },
        'target-concurrency': { type: 'string', default: '64' },
        reps: { type: 'string', default: '3' },
        events: { type: 'string', default: '5000' },
        'run-seconds': { type: 'string', default: '5' },
        backlog: { type: 'string', default: '100000' },
        'drain-seconds': { type: 'string', default: '300' },
        'drain-intake-rate': { type: 'string', default: '200' },
        'linked-users': { type: 'boolean', default: false },
        users: { type: 'string', default: '1000000' },
        'small-users': { type: 'string', default: '10000' },
        verifications: { type: 'string', default: '100000' },
        'soak-seconds': { type: 'string', default: '600' },
        'soak-backend': { type: 'string', default: 'sqlite' },
        // No default: whether it was given decides whether a partial run may write into docs/.
        'report-dir': { type: 'string' },
        'cpu-prof': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (error) {
    // node:util's own messages (an unknown flag, a missing value, a stray argument) are clear; only the usage is added.
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_')) throw new UsageError((error as Error).message);
    throw error;
  }
}

const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function choices<T extends string>(flag: string, text: string, valid: readonly T[]): T[] {
  const given = [...new Set(list(text))];
  const unknown = given.filter((value) => !(valid as readonly string[]).includes(value));
  if (given.length === 0 || unknown.length > 0) {
    const problem = given.length === 0 ? 'none given' : `unknown ${unknown.map((value) => `"${value}"`).join(', ')}`;
    throw new UsageError(`--${flag}: ${problem}; valid: ${valid.join(', ')}`);
  }
  return given as T[];
}

function oneOf<T extends string>(flag: string, text: string, valid: readonly T[]): T {
  const [value, ...more] = choices(flag, text, valid);
  if (more.length > 0) throw new UsageError(`--${flag}: one only; valid: ${valid.join(', ')}`);
  return value!;
}

function directory(flag: string, text: string | undefined): string | undefined {
  if (text === '') throw new UsageError(`--${flag}: no directory given`);
  return text;
}

function positiveInteger(flag: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`--${flag}: "${text}" is not a whole number of at least 1`);
  return Number(text);
}

function positiveNumber(flag: string, text: string): number {
  if (!/^\d+(\.\d+)?$/.test(text) || Number(text) <= 0) throw new UsageError(`--${flag}: "${text}" is not a positive number`);
  return Number(text);
}
