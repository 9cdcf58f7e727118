import { describe, expect, it } from 'vitest';
import { assertNoLeaks, type Capture } from './helpers/log-scan.js';
import { runProcess } from './helpers/processes.js';

// Checked on captures made here, not on this file's own: the after-file check must still pass.
const PLANTED = 'whsec_planted_by_the_log_scan_test_0123';

describe('the secrets scan of captured output', () => {
  it('catches a process that prints a known secret, naming the secret by its label and where, never the secret', async () => {
    // LEAK_ME is no variable the scan knows: the process's own capture stays clean.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the child's own code, a template literal it evaluates.
    const run = await runProcess(process.execPath, ['-e', 'console.error(`config: ${process.env.LEAK_ME}`)'], {
      env: { LEAK_ME: PLANTED },
    });
    const captured: Capture[] = [{ source: 'process 1 (node -e …)', stream: 'stderr', text: run.stderr }];
    let message = '';
    try {
      assertNoLeaks(captured, new Map([[PLANTED, 'a planted webhook secret']]));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('secrets in captured output:\n  a planted webhook secret in stderr of process 1 (node -e …)');
    expect(() => assertNoLeaks(captured, new Map())).not.toThrow();
  });

  it("lets `npm start`'s local-mode printout show its generated secret, and only there", () => {
    const generated = 'whsec_generated_0123456789abcdef';
    // As src/main.ts printLocalSecret prints it.
    const printout = [
      '',
      'Local mode: no STRIPE_WEBHOOK_SECRET set, so this service uses a generated signing secret',
      'kept in /tmp/data/webhook-secret:',
      '',
      `  ${generated}`,
      '',
      'Set STRIPE_WEBHOOK_SECRET (and NODE_ENV=production) for a real deployment.',
      '',
    ].join('\n');
    const stderr = { source: 'process 1 (node src/main.ts)', stream: 'stderr', text: `${printout}\n` };
    expect(() => assertNoLeaks([stderr], new Map())).not.toThrow();
    const stdout = { source: 'process 1 (node src/main.ts)', stream: 'stdout', text: `{"msg":"ready","secret":"${generated}"}\n` };
    expect(() => assertNoLeaks([stderr, stdout], new Map())).toThrow('the generated local-mode webhook secret in stdout of process 1');
  });
});
