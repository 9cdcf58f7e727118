import { describe, expect, it } from 'vitest';
import {
  BUDGET_STEP,
  groupSize,
  shouldClaimAhead,
  shouldYieldToIntake,
  withinBudget,
} from '../../../src/subscriptions/worker/scheduler.js';

describe('the scheduler: how a drain deals claimed events to its lanes', () => {
  it.each<[string, number, { lanes: number; perTransaction: number }, number]>([
    ['a large claim fills whole groups', 100, { lanes: 4, perTransaction: 25 }, 25],
    ['a small claim is dealt evenly, so every lane gets work', 10, { lanes: 4, perTransaction: 25 }, 3],
    ['one lane takes the whole claim up to the group size', 60, { lanes: 1, perTransaction: 100 }, 60],
    ['never less than one event', 0, { lanes: 4, perTransaction: 25 }, 1],
    ['never more than the group size', 1000, { lanes: 1, perTransaction: 25 }, 25],
  ])('groupSize: %s', (_name, waiting, schedule, expected) => {
    expect(groupSize(waiting, schedule)).toBe(expected);
  });

  it.each<[string, number, boolean, boolean]>([
    ['claims ahead while the lanes hold at most one round of groups', 100, false, true],
    ['does not claim while more than a round is in hand', 101, false, false],
    ['claims when nothing is in hand', 0, false, true],
    ['stops claiming once a claim found nothing', 0, true, false],
  ])('shouldClaimAhead: %s', (_name, waiting, nothingDue, expected) => {
    expect(shouldClaimAhead(waiting, nothingDue, { lanes: 4, perTransaction: 25 })).toBe(expected);
  });

  it.each<[string, number, number, number, boolean]>([
    ['a group within its budget starts another event', BUDGET_STEP, 5, 16, true],
    ['out of time, a group ends at a multiple of the step', BUDGET_STEP, 20, 16, false],
    ['out of time, a group goes on between multiples of the step', BUDGET_STEP + 1, 20, 16, true],
    ['out of time at twice the step, it ends', 2 * BUDGET_STEP, 20, 16, false],
    ['a zero budget ends a group at its first multiple of the step', BUDGET_STEP, 0, 0, false],
    ['a zero budget still starts the events before that multiple', 1, 0, 0, true],
  ])('withinBudget: %s', (_name, started, elapsedMs, budgetMs, expected) => {
    expect(withinBudget(started, elapsedMs, budgetMs)).toBe(expected);
  });

  it.each<[string, boolean, number, number, boolean]>([
    ['waits while a burst is in flight and the backlog is young', true, 1000, 5000, true],
    ['takes its share once the backlog reaches the limit', true, 5000, 5000, false],
    ['takes its share past the limit', true, 60_000, 5000, false],
    ['works whenever intake is not in a burst', false, 0, 5000, false],
    ['an unknown backlog (at start) counts as old', true, Date.now(), 5000, false],
  ])('shouldYieldToIntake: %s', (_name, busy, backlogAgeMs, limitMs, expected) => {
    expect(shouldYieldToIntake(busy, backlogAgeMs, limitMs)).toBe(expected);
  });
});
