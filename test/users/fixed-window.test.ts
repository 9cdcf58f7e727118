import { describe, expect, it } from 'vitest';
import { FixedWindowCounter } from '../../src/users/rate-limit.js';

describe('FixedWindowCounter', () => {
  function counter(limit: number, maxKeys = 100) {
    const clock = { now: 1_000_000 };
    return { clock, counter: new FixedWindowCounter(limit, { windowMs: 60_000, maxKeys, now: () => clock.now }) };
  }

  it('allows `limit` events per key and window, then says how long to wait', () => {
    const { clock, counter: c } = counter(3);
    for (let i = 0; i < 3; i++) {
      expect(c.retryAfterSeconds('a')).toBe(0);
      c.record('a');
    }
    expect(c.retryAfterSeconds('a')).toBe(60);
    clock.now += 45_500;
    expect(c.retryAfterSeconds('a')).toBe(15);
    expect(c.retryAfterSeconds('b')).toBe(0);
  });

  it('starts a fresh window once the minute is over', () => {
    const { clock, counter: c } = counter(1);
    c.record('a');
    expect(c.retryAfterSeconds('a')).toBe(60);
    clock.now += 60_000;
    expect(c.retryAfterSeconds('a')).toBe(0);
    c.record('a');
    expect(c.retryAfterSeconds('a')).toBe(60);
  });

  it('tracks at most maxKeys addresses, forgetting the oldest window first', () => {
    const { clock, counter: c } = counter(1, 3);
    for (const key of ['a', 'b', 'c']) {
      c.record(key);
      clock.now += 1000;
    }
    c.record('d');
    expect(c.trackedKeys).toBe(3);
    expect(c.retryAfterSeconds('a')).toBe(0);
    for (const key of ['b', 'c', 'd']) expect(c.retryAfterSeconds(key)).toBeGreaterThan(0);
  });

  it('never exceeds its bound under a flood of distinct addresses', () => {
    const { counter: c } = counter(5, 1000);
    for (let i = 0; i < 50_000; i++) c.record(`10.0.${i >> 8}.${i & 255}`);
    expect(c.trackedKeys).toBe(1000);
  });
});
