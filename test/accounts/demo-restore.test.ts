import { describe, expect, it } from 'vitest';
import { StripeStandIn } from '../../tools/stripe-stand-in/server.js';
import { runDemo } from '../helpers/demo.js';

/** `npm run demo` plays restore on a second device through its own SMTP server, and says so step by step. */
describe('npm run demo: restore on a second device', () => {
  it('the whole story passes, the second install premium by an emailed code, then canceled with the account', async () => {
    const { lines, exitCode } = await runDemo(new StripeStandIn());
    const restore = lines.find((line) => line.includes('restore on a second device'));
    expect(restore).toMatch(/^PASS {2}restore on a second device/);
    expect(restore).toMatch(
      /POST \/v1\/account\/email 202 \{"sent":true\}; a code arrived for b…@demo\.example; POST \/v1\/account\/verify 200/,
    );
    expect(restore).toMatch(/entitlement: premium=true reason="active"/);
    expect(lines.find((line) => line.includes('the second device follows the account'))).toMatch(
      /^PASS .*\n.*premium=false reason="canceled"/s,
    );
    // The fourth scenario: our processing fails for a while, is logged, and the retry after the interval applies it.
    const retry = lines.find((line) => line.includes("while Stripe's API fails for a moment"));
    expect(retry).toMatch(/^PASS /);
    expect(retry).toMatch(/RETRY_SCHEDULE=2s,10s/);
    expect(retry).toMatch(/the delivery of (evt_\w+) was acknowledged: 200/);
    expect(retry).toMatch(
      /the service logged: \{.*"attempt":1,"outcome":"failed","nextAttemptAt":"[^"]+".*"msg":"event processing failed; will retry"\}/,
    );
    expect(retry).toMatch(/retried \d+\.\d s after the failure, and applied/);
    expect(retry).toMatch(/\n +1 +\S+ +\S+ +\d+ +failed +reading subscription .*\n +2 +\S+ +\S+ +\d+ +applied/);
    expect(retry).toMatch(/entitlement: premium=true .*cancelAtPeriodEnd=true/);
    expect(lines.at(-1)).toContain('Every step came out right.');
    expect(exitCode).toBe(0);
  }, 90_000);
});
