import { describe, expect, it } from 'vitest';
import { IntakeLoad } from '../../src/webhooks/index.js';

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the worker of the default deployment yields to: a burst, not a steady trickle. */
describe('IntakeLoad: whether intake is in a burst', () => {
  it('one delivery at a time, however often, is no burst', async () => {
    const load = new IntakeLoad();
    for (let i = 0; i < 5; i++) {
      load.started();
      expect(load.busy()).toBe(false);
      load.finished();
      await wait(1);
    }
    expect(load.busy()).toBe(false);
  });

  it('two at once are; the burst lingers 50 ms after the last overlap (a SQLite batch is answered within one event-loop turn)', async () => {
    const load = new IntakeLoad();
    load.started();
    load.started();
    expect(load.busy()).toBe(true);
    load.finished();
    load.finished();
    expect(load.busy()).toBe(true);
    await wait(80);
    expect(load.busy()).toBe(false);
  });
});
