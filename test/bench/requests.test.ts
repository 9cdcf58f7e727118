import Stripe from 'stripe';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { webhookRequests } from '../../bench/scenarios.js';
import { BENCH_SECRET } from '../../bench/targets.js';

describe("the benchmark's webhook deliveries", () => {
  afterEach(() => vi.useRealTimers());

  it("still verify when sent after Stripe's 300 s tolerance (the 10-minute soak)", () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
    const requestAt = webhookRequests('/webhooks/stripe')('tolerance', 2);
    const verify = (i: number) => {
      const request = requestAt(i);
      return Stripe.webhooks.constructEvent(request.body!, request.headers['stripe-signature']!, BENCH_SECRET);
    };
    expect(verify(0)).toMatchObject({ object: 'event' });
    vi.advanceTimersByTime(9 * 60_000);
    expect(verify(1)).toMatchObject({ object: 'event' });
    expect(verify(2)).toMatchObject({ object: 'event' });
  });
});
