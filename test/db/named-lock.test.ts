import { describe, expect, it } from 'vitest';
import { holderState, type ProcessState, processStateOf } from '../../src/db/named-lock.js';
import { spawnCaptured } from '../helpers/processes.js';

const self = { host: 'web-1', pid: 4242, owners: new Set(['web-1:4242:aaaa', 'web-1:4242:dddd']) };

describe('what a lock holder can be, seen from this process', () => {
  it.each<[string, string, ProcessState, ReturnType<typeof holderState>]>([
    ['a process on this host that runs', 'web-1:77:bbbb', 'running', 'alive_here'],
    ['a process on this host that is gone', 'web-1:77:bbbb', 'gone', 'gone'],
    ['a zombie on this host (killed, not yet reaped)', 'web-1:77:bbbb', 'zombie', 'gone'],
    ['an earlier run that had our pid (a restarted container)', 'web-1:4242:cccc', 'running', 'gone'],
    ['ourselves', 'web-1:4242:aaaa', 'running', 'alive_here'],
    ['another lock of this process (a second worker in it)', 'web-1:4242:dddd', 'running', 'alive_here'],
    ['a process on another host, whatever runs here under its pid', 'web-2:77:bbbb', 'gone', 'unverifiable'],
    ['an owner of another form (an intake process)', 'intake:77', 'gone', 'unverifiable'],
    ['an owner without a pid', 'web-1::bbbb', 'gone', 'unverifiable'],
    ['an owner with a pid that is no number', 'web-1:x7:bbbb', 'gone', 'unverifiable'],
  ])('%s', (_case, owner, state, expected) => {
    expect(holderState(owner, self, () => state)).toBe(expected);
  });
});

describe('a process state read from /proc', () => {
  it('this process runs', () => {
    expect(processStateOf(process.pid)).toBe('running');
  });

  it('a pid that no process has is gone', () => {
    expect(processStateOf(2 ** 22 + 17)).toBe('gone');
  });

  it('a child that exited and was not reaped is a zombie, though signal 0 still reaches it', async () => {
    // `sleep 0` exits at once; its parent execs into `sleep 3`, which never reaps it.
    const parent = spawnCaptured('sh', ['-c', 'sleep 0 & echo $!; exec sleep 3']);
    try {
      const zombie = Number((await parent.waitFor(/^(\d+)\n/, 'sh'))[1]);
      let state = processStateOf(zombie);
      for (let i = 0; i < 50 && state !== 'zombie'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        state = processStateOf(zombie);
      }
      expect(state).toBe('zombie');
      expect(() => process.kill(zombie, 0)).not.toThrow();
    } finally {
      parent.child.kill('SIGKILL');
    }
  });
});
