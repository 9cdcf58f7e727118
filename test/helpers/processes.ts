import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { capture, registerEnvironment, scanAfter } from './log-scan.js';

export const ROOT = new URL('../..', import.meta.url).pathname;

export interface SpawnOptions {
  /** The whole environment; this process's by default. */
  env?: NodeJS.ProcessEnv;
  /** The repository root by default. */
  cwd?: string;
  /** In a process group of its own, as a terminal runs `npm start`. */
  detached?: boolean;
}

export interface CapturedProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** stdout and stderr so far, as they arrived. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** The exit code, once the process has exited and all its output is read. */
  closed: Promise<number | null>;
  /** The first match of `pattern` in the output; rejects, with the output, if `name` ends before printing it. */
  waitFor(pattern: RegExp, name: string): Promise<RegExpExecArray>;
}

let spawned = 0;

/**
 * Every process a test starts goes through here: its stdout and stderr are piped, kept for the
 * test, and captured for the after-file secrets scan (test/helpers/log-scan.ts), which also
 * learns the secrets in its environment.
 */
export function spawnCaptured(command: string, args: string[], options: SpawnOptions = {}): CapturedProcess {
  const source = `process ${++spawned} (${[basename(command), ...args].join(' ').slice(0, 120)})`;
  registerEnvironment(options.env ?? process.env);
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached,
  });
  let output = '';
  const captured = { stdout: capture(source, 'stdout'), stderr: capture(source, 'stderr') };
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream].setEncoding('utf8');
    child[stream].on('data', (chunk: string) => {
      captured[stream].text += chunk;
      output += chunk;
    });
  }
  const closed = new Promise<number | null>((resolve, reject) => {
    child.once('close', resolve);
    child.once('error', reject);
  });
  scanAfter(closed);
  return {
    child,
    output: () => output,
    stdout: () => captured.stdout.text,
    stderr: () => captured.stderr.text,
    closed,
    waitFor: (pattern, name) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(output);
          if (!match) return;
          child.stdout.off('data', check);
          child.stderr.off('data', check);
          resolve(match);
        };
        child.stdout.on('data', check);
        child.stderr.on('data', check);
        closed.then((code) => reject(new Error(`${name} exited (${code}) before printing ${pattern}: ${output}`)), reject);
        check();
      }),
  };
}

export interface ProcessRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr as they arrived. */
  output: string;
}

/** Runs a process to its end: SIGTERM once its output matches `stopWhen`, SIGKILL after `timeoutMs`. */
export async function runProcess(
  command: string,
  args: string[],
  options: SpawnOptions & { stopWhen?: RegExp; timeoutMs?: number } = {},
): Promise<ProcessRun> {
  const running = spawnCaptured(command, args, options);
  const timer = setTimeout(() => running.child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  if (options.stopWhen)
    running.waitFor(options.stopWhen, command).then(
      () => running.child.kill('SIGTERM'),
      () => {},
    );
  try {
    const code = await running.closed;
    return { code, stdout: running.stdout(), stderr: running.stderr(), output: running.output() };
  } finally {
    clearTimeout(timer);
  }
}

/** `node --import tsx <script>`, as the npm scripts run the project's programs. */
export function runScript(script: string, args: string[], options: Parameters<typeof runProcess>[2] = {}): Promise<ProcessRun> {
  return runProcess(process.execPath, ['--import', 'tsx', script, ...args], options);
}

/** `npm run cli -- <args>` with only PATH and the given environment; rejects, with its output, unless it exits 0. */
export async function runCli(args: string[], env: Record<string, string>): Promise<ProcessRun> {
  const run = await runScript('src/cli/main.ts', args, { env: { PATH: process.env.PATH ?? '', ...env } });
  if (run.code !== 0) throw new Error(`npm run cli -- ${args.join(' ')} exited ${run.code}: ${run.output}`);
  return run;
}

export interface ServiceProcess extends CapturedProcess {
  baseUrl: string;
  /** Whether it runs in a process group of its own (`npm start`), signalled as a whole. */
  group: boolean;
}

/**
 * The service as its own process on a free port: `npm start` itself (npm, its shell and node, in a
 * process group of their own, as a terminal or a process manager runs it), or node running
 * `src/main.ts` directly. Resolves once it listens; rejects with its output if it exits first.
 */
export async function startServiceProcess(
  env: Record<string, string>,
  options: { via?: 'npm' | 'node'; args?: string[] } = {},
): Promise<ServiceProcess> {
  const group = options.via === 'npm';
  const [command, args] = group
    ? ['npm', ['start', '--silent', '--', ...(options.args ?? [])]]
    : [process.execPath, ['--import', 'tsx', 'src/main.ts', ...(options.args ?? [])]];
  const service = spawnCaptured(command, args, { env: { PATH: process.env.PATH ?? '', PORT: '0', ...env }, detached: group });
  const listening = await service.waitFor(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/, 'service');
  return { ...service, baseUrl: listening[1]!, group };
}

/** SIGKILL to the service's whole process group (npm, its shell and node together), as a crash or `kill -9 -<pgid>` does. */
export function killProcessGroup(service: ServiceProcess): void {
  process.kill(-service.child.pid!, 'SIGKILL');
}

/** SIGTERM (to the whole group for `npm start`), then the exit code once it has exited and its output is read. */
export function stopServiceProcess(service: ServiceProcess): Promise<number | null> {
  if (service.child.exitCode === null && service.child.signalCode === null) {
    if (service.group) process.kill(-service.child.pid!, 'SIGTERM');
    else service.child.kill('SIGTERM');
  }
  return service.closed;
}
