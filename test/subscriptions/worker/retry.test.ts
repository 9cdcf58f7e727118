import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nextAttemptAt } from '../../../src/subscriptions/worker/retry.js';

const NOW = 1_800_000_000_000;
const SCHEDULE = [1_000, 60_000, 3_600_000] as const;
/** The largest value Math.random() can return. */
const ALMOST_ONE = 1 - Number.EPSILON / 2;

describe('nextAttemptAt', () => {
  it.each<[attempt: number, low: number, middle: number, high: number]>([
    [1, 900, 1_000, 1_100],
    [2, 54_000, 60_000, 66_000],
    [3, 3_240_000, 3_600_000, 3_960_000],
  ])('attempt %i: the schedule delay, spread by ±10 %% (%i … %i … %i ms)', (attempt, low, middle, high) => {
    expect(nextAttemptAt(attempt, SCHEDULE, NOW, () => 0)).toBe(NOW + low);
    expect(nextAttemptAt(attempt, SCHEDULE, NOW, () => 0.5)).toBe(NOW + middle);
    expect(nextAttemptAt(attempt, SCHEDULE, NOW, () => ALMOST_ONE)).toBe(NOW + high);
  });

  it.each<[name: string, attempt: number, schedule: readonly number[]]>([
    ['the attempt after the last of the schedule', 4, SCHEDULE],
    ['an attempt far beyond the schedule', 100, SCHEDULE],
    ['a one-step schedule after its step', 2, [5_000]],
    ['an empty schedule', 1, []],
    ['attempt 0 (attempts count from 1)', 0, SCHEDULE],
  ])('null (dead) for %s', (_name, attempt, schedule) => {
    expect(nextAttemptAt(attempt, schedule, NOW, () => 0.5)).toBeNull();
  });

  it.each<[random: number, expected: number]>([
    [0, 6], // 6.3 ms
    [0.5, 7],
    [ALMOST_ONE, 8], // 7.7 ms
  ])('rounds to whole milliseconds (random() = %d on a 7 ms delay)', (random, expected) => {
    expect(nextAttemptAt(1, [7], NOW, () => random)).toBe(NOW + expected);
  });

  it('stays within the spread for any random() in [0, 1) and any delay', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 86_400_000 }), { minLength: 1, maxLength: 8 }),
        fc.nat(),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (schedule, pick, random) => {
          const attempt = (pick % schedule.length) + 1;
          const delay = schedule[attempt - 1]!;
          const at = nextAttemptAt(attempt, schedule, NOW, () => random);
          expect(Number.isInteger(at)).toBe(true);
          expect(at!).toBeGreaterThanOrEqual(NOW + Math.round(delay * 0.9));
          expect(at!).toBeLessThanOrEqual(NOW + Math.round(delay * 1.1));
        },
      ),
      { seed: 1_802_240, numRuns: 500 },
    );
  });

  it('spreads by Math.random() when no random source is given', () => {
    const at = nextAttemptAt(2, SCHEDULE, NOW);
    expect(at).toBeGreaterThanOrEqual(NOW + 54_000);
    expect(at).toBeLessThanOrEqual(NOW + 66_000);
  });
});
