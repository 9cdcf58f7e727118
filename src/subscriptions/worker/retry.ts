/**
 * When a failed event is tried again: after the delay the schedule gives for this attempt,
 * spread by ±10 % so that events failing together do not retry in lockstep; null when the
 * schedule is used up (the event is dead).
 */
export function nextAttemptAt(
  attempt: number,
  schedule: readonly number[],
  now: number,
  random: () => number = Math.random,
): number | null {
  const delay = schedule[attempt - 1];
  if (delay === undefined) return null;
  return now + Math.round(delay * (0.9 + random() * 0.2));
}
