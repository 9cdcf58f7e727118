import { describe, expect, it } from 'vitest';
import { StripeStandIn } from '../../tools/stripe-stand-in/server.js';
import { playDemo } from '../../tools/demo.js';

describe('npm run demo', () => {
  it('says FAIL at the checkout step, and exits 1, when checkout does not answer 200 with a Checkout URL', async () => {
    const standIn = new StripeStandIn();
    // Stripe failing every Checkout session it is asked for (beyond the client's own retries).
    standIn.injectFailure({ kind: 500, times: 100, path: '/v1/checkout/sessions' });
    const lines: string[] = [];
    const exitCode = await playDemo(standIn, (line) => lines.push(line));
    const checkout = lines.find((line) => line.includes('checkout: POST /v1/billing/checkout'));
    expect(checkout).toMatch(/^FAIL {2}checkout: POST \/v1\/billing\/checkout\n {6}error: POST \/v1\/billing\/checkout: expected 200, got 50\d/);
    expect(exitCode).toBe(1);
  }, 60_000);
});
