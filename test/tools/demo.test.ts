import { describe, expect, it } from 'vitest';
import { StripeStandIn } from '../../tools/stripe-stand-in/server.js';
import { runDemo } from '../helpers/demo.js';

describe('npm run demo', () => {
  it('says FAIL at the checkout step, and exits 1, when checkout does not answer 200 with a Checkout URL', async () => {
    const standIn = new StripeStandIn();
    // Stripe failing every Checkout session it is asked for (beyond the client's own retries).
    standIn.injectFailure({ kind: 500, times: 100, path: '/v1/checkout/sessions' });
    const { lines, exitCode } = await runDemo(standIn);
    const checkout = lines.find((line) => line.includes('checkout: POST /v1/billing/checkout'));
    expect(checkout).toMatch(
      /^FAIL {2}checkout: POST \/v1\/billing\/checkout\n {6}error: POST \/v1\/billing\/checkout: expected 200, got 50\d/,
    );
    expect(exitCode).toBe(1);
  }, 60_000);

  it('says FAIL at the processing-failure step, and exits 1, when the failure outlasts the retry', async () => {
    /** Stripe's API down for the subscription far longer than the demo's "moment": the retry fails too. */
    class LongOutage extends StripeStandIn {
      override injectFailure(failure: Parameters<StripeStandIn['injectFailure']>[0]): void {
        super.injectFailure({ ...failure, times: failure.path?.startsWith('/v1/subscriptions/') ? 1000 : failure.times });
      }
    }
    const { lines, exitCode } = await runDemo(new LongOutage());
    expect(lines.find((line) => line.includes("while Stripe's API fails for a moment"))).toMatch(
      /^FAIL .*\n {6}error: the retry of evt_\w+: not within 10 s/s,
    );
    expect(exitCode).toBe(1);
  }, 60_000);
});
