import { type ChildProcess, spawn } from 'node:child_process';

export const ROOT = new URL('../..', import.meta.url).pathname;

export interface ServiceProcess {
  child: ChildProcess;
  baseUrl: string;
  /** Whether it runs in a process group of its own (`npm start`), signalled as a whole. */
  group: boolean;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
}

/**
 * The service as its own process on a free port: `npm start` itself (npm, its shell and node, in a
 * process group of their own, as a terminal or a process manager runs it), or node running
 * `src/main.ts` directly. Resolves once it listens; rejects with its output if it exits first.
 */
export function startServiceProcess(env: Record<string, string>, options: { via?: 'npm' | 'node'; args?: string[] } = {}): Promise<ServiceProcess> {
  const [command, args] =
    options.via === 'npm' ? ['npm', ['start', '--silent', '--', ...(options.args ?? [])]] : [process.execPath, ['--import', 'tsx', 'src/main.ts', ...(options.args ?? [])]];
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.via === 'npm',
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  return new Promise((resolve, reject) => {
    const onData = () => {
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (!match) return;
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onData);
      child.off('exit', onExit);
      resolve({ child, baseUrl: match[1]!, group: options.via === 'npm', output: () => output });
    };
    const onExit = (code: number | null) => reject(new Error(`service exited (${code}) before listening: ${output}`));
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', onExit);
  });
}

/** SIGKILL to the service's whole process group (npm, its shell and node together), as a crash or `kill -9 -<pgid>` does. */
export function killProcessGroup(service: ServiceProcess): void {
  process.kill(-service.child.pid!, 'SIGKILL');
}

/** SIGTERM, then the exit code once it has exited. */
export function stopServiceProcess(service: ServiceProcess): Promise<number | null> {
  if (service.child.exitCode !== null) return Promise.resolve(service.child.exitCode);
  return new Promise((resolve) => {
    service.child.once('exit', (code) => resolve(code));
    if (service.group) process.kill(-service.child.pid!, 'SIGTERM');
    else service.child.kill('SIGTERM');
  });
}
