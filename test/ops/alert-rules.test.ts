import { describe, expect, it } from 'vitest';
import { type AlertState, evaluateAlerts, type Observation } from '../../src/ops/alert-rules.js';

const WINDOW = 300_000;
const on = (value: number): Observation => ({ firing: true, value, detail: `value ${value}` });
const off = (value = 0): Observation => ({ firing: false, value, detail: 'clear' });

/** Runs observations of one condition through time; returns the kinds notified at each step. */
function run(steps: [at: number, observation: Observation][]): (string | null)[] {
  let state: AlertState = {};
  return steps.map(([at, observation]) => {
    const result = evaluateAlerts(state, { dead_events: observation }, at, WINDOW);
    state = result.state;
    expect(result.notifications.length).toBeLessThanOrEqual(1);
    return result.notifications[0]?.kind ?? null;
  });
}

describe('evaluateAlerts', () => {
  it.each<[string, [number, Observation][], (string | null)[]]>([
    [
      'quiet while clear',
      [
        [0, off()],
        [1000, off()],
      ],
      [null, null],
    ],
    [
      'notifies when it starts firing',
      [
        [0, off()],
        [1000, on(1)],
      ],
      [null, 'firing'],
    ],
    [
      'no flood while firing within the window',
      [
        [0, on(1)],
        [1000, on(2)],
        [WINDOW - 1, on(3)],
      ],
      ['firing', null, null],
    ],
    [
      'reminds once a window has passed and it got worse',
      [
        [0, on(1)],
        [WINDOW, on(3)],
        [WINDOW + 1000, on(4)],
      ],
      ['firing', 'reminder', null],
    ],
    [
      'no reminder when it did not get worse',
      [
        [0, on(3)],
        [WINDOW * 2, on(3)],
      ],
      ['firing', null],
    ],
    [
      'resolves once when it clears',
      [
        [0, on(1)],
        [1000, off()],
        [2000, off()],
      ],
      ['firing', 'resolved', null],
    ],
    [
      'fires again after resolving',
      [
        [0, on(1)],
        [1000, off()],
        [2000, on(1)],
      ],
      ['firing', 'resolved', 'firing'],
    ],
  ])('%s', (_name, steps, expected) => {
    expect(run(steps)).toEqual(expected);
  });

  it('says what fired, per condition', () => {
    const { notifications } = evaluateAlerts({}, { dead_events: on(2), pending_backlog: off(), signature_failures: on(40) }, 0, WINDOW);
    expect(notifications.map((n) => [n.condition, n.kind])).toEqual([
      ['dead_events', 'firing'],
      ['signature_failures', 'firing'],
    ]);
    expect(notifications[0]!.text).toMatch(/Dead webhook events: value 2/);
  });

  it('leaves conditions it did not observe as they were', () => {
    const first = evaluateAlerts({}, { dead_events: on(1) }, 0, WINDOW);
    const second = evaluateAlerts(first.state, { signature_failures: off() }, 1000, WINDOW);
    expect(second.state.dead_events).toEqual(first.state.dead_events);
    expect(second.notifications).toEqual([]);
  });
});
