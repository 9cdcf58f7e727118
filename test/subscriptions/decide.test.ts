import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decideFetchedSubscription,
  decidePaymentFact,
  decideSubscriptionStep,
  pastDueStreakStart,
  type SeenStatus,
  type StatusObservation,
  type SubscriptionRecord,
} from '../../src/subscriptions/decide.js';
import type { SubscriptionSnapshot, SubscriptionStatus } from '../../src/subscriptions/stripe-objects.js';

const T = 1_800_000_000;
const updated = 'customer.subscription.updated';
const created = 'customer.subscription.created';
const deleted = 'customer.subscription.deleted';

function snapshot(status: SubscriptionStatus, overrides: Partial<SubscriptionSnapshot> = {}): SubscriptionSnapshot {
  return {
    id: 'sub_1',
    customerId: 'cus_1',
    status,
    priceId: 'price_basic',
    productId: 'prod_1',
    currentPeriodStart: T,
    currentPeriodEnd: T + 30 * 86_400,
    cancelAtPeriodEnd: false,
    cancelAt: null,
    canceledAt: null,
    endedAt: null,
    trialEnd: null,
    userId: null,
    ...overrides,
  };
}

type Step = [type: string, status: SubscriptionStatus, created: number];

/** Applies events in arrival order with the subscription handler's own step (decideSubscriptionStep). */
function replay(steps: readonly Step[]): { record: SubscriptionRecord | null; applied: boolean[] } {
  let record: SubscriptionRecord | null = null;
  let seen: SeenStatus[] = [];
  const applied: boolean[] = [];
  steps.forEach(([type, status, createdAt], i) => {
    const step = decideSubscriptionStep(record, seen, snapshot(status), { id: `evt_${i}`, type, created: createdAt });
    seen = step.seen;
    const { decision } = step;
    applied.push(decision.apply);
    if (decision.apply) record = decision.next;
    else expect(decision.reason).toMatch(/\w/);
  });
  return { record, applied };
}

describe('decideSubscriptionEvent: ordering rules', () => {
  it.each<{ name: string; current: Step | null; event: Step; apply: boolean }>([
    { name: 'first event creates the record', current: null, event: [updated, 'active', T], apply: true },
    { name: 'a deleted event with no record creates a canceled record', current: null, event: [deleted, 'canceled', T], apply: true },
    { name: 'a newer event overwrites', current: [updated, 'active', T], event: [updated, 'past_due', T + 1], apply: true },
    { name: 'an older event does not overwrite', current: [updated, 'active', T], event: [updated, 'incomplete', T - 1], apply: false },
    {
      name: 'a late created (incomplete) never overwrites an existing record',
      current: [updated, 'active', T],
      event: [created, 'incomplete', T],
      apply: false,
    },
    {
      name: 'a created never overwrites, even if stamped later',
      current: [updated, 'active', T],
      event: [created, 'incomplete', T + 5],
      apply: false,
    },
    { name: 'same second: later arrival wins', current: [updated, 'active', T], event: [updated, 'past_due', T], apply: true },
    { name: 'same second: canceled is not revived', current: [updated, 'canceled', T], event: [updated, 'active', T], apply: false },
    {
      name: 'same second: incomplete_expired is not revived',
      current: [updated, 'incomplete_expired', T],
      event: [updated, 'incomplete', T],
      apply: false,
    },
    { name: 'earlier second: canceled is not revived', current: [updated, 'canceled', T], event: [updated, 'active', T - 1], apply: false },
    {
      name: 'same second: canceled may be restated as canceled',
      current: [updated, 'canceled', T],
      event: [deleted, 'canceled', T],
      apply: true,
    },
    { name: 'same second: active may become canceled', current: [updated, 'active', T], event: [deleted, 'canceled', T], apply: true },
    { name: 'a later second applies after canceled', current: [updated, 'canceled', T], event: [updated, 'canceled', T + 1], apply: true },
  ])('$name', ({ current, event, apply }) => {
    const { record, applied } = replay(current ? [current, event] : [event]);
    expect(applied.at(-1)).toBe(apply);
    if (apply) {
      expect(record).toMatchObject({ status: event[1], lastEventCreated: event[2], lastEventId: `evt_${current ? 1 : 0}` });
    } else {
      expect(record).toMatchObject({ status: current![1], lastEventCreated: current![2], lastEventId: 'evt_0' });
    }
  });

  it('the same event applied again (a replay) changes nothing', () => {
    let record: SubscriptionRecord | null = null;
    let seen: SeenStatus[] = [];
    for (const [id, status, at] of [
      ['evt_a', 'past_due', T],
      ['evt_b', 'past_due', T + 5],
      ['evt_a', 'past_due', T],
    ] as const) {
      const step = decideSubscriptionStep(record, seen, snapshot(status), { id, type: updated, created: at });
      seen = step.seen;
      const { decision } = step;
      if (id === 'evt_a' && record) expect(decision.apply).toBe(false);
      if (decision.apply) record = decision.next;
    }
    const { decision: again } = decideSubscriptionStep(record, seen, snapshot('past_due'), { id: 'evt_b', type: updated, created: T + 5 });
    expect(again).toEqual({ apply: false, reason: 'already applied (a replay)' });
  });

  it.each<{ name: string; steps: Step[]; pastDueSince: number | null }>([
    {
      name: 'starts at the first past_due event',
      steps: [
        [updated, 'active', T],
        [updated, 'past_due', T + 10],
      ],
      pastDueSince: T + 10,
    },
    {
      name: 'holds while it stays past_due',
      steps: [
        [updated, 'past_due', T + 10],
        [updated, 'past_due', T + 500],
      ],
      pastDueSince: T + 10,
    },
    {
      name: 'ends with another status',
      steps: [
        [updated, 'past_due', T + 10],
        [updated, 'active', T + 20],
      ],
      pastDueSince: null,
    },
    {
      name: 'a new streak starts over',
      steps: [
        [updated, 'past_due', T + 10],
        [updated, 'active', T + 20],
        [updated, 'past_due', T + 30],
      ],
      pastDueSince: T + 30,
    },
    {
      name: 'reverse arrival still starts at the first by created',
      steps: [
        [updated, 'past_due', T + 500],
        [updated, 'past_due', T + 10],
      ],
      pastDueSince: T + 10,
    },
    {
      name: 'a late past_due from before a recovery does not extend the current streak back',
      steps: [
        [updated, 'past_due', T + 30],
        [updated, 'active', T + 20],
        [updated, 'past_due', T + 10],
      ],
      pastDueSince: T + 30,
    },
  ])('past_due grace: $name', ({ steps, pastDueSince }) => {
    expect(replay(steps).record?.pastDueSince).toBe(pastDueSince);
  });

  it('any arrival order of one life cycle ends in the same record', () => {
    const lifecycle: Step[] = [
      [created, 'incomplete', T],
      [updated, 'active', T + 1],
      [updated, 'past_due', T + 40],
      [updated, 'past_due', T + 80],
      [updated, 'active', T + 120],
      [updated, 'past_due', T + 200],
      [updated, 'past_due', T + 260],
    ];
    const expected = replay(lifecycle).record;
    fc.assert(
      fc.property(fc.shuffledSubarray(lifecycle, { minLength: lifecycle.length }), (shuffled) => {
        const { record } = replay(shuffled);
        expect({ status: record?.status, lastEventCreated: record?.lastEventCreated, pastDueSince: record?.pastDueSince }).toEqual({
          status: expected?.status,
          lastEventCreated: expected?.lastEventCreated,
          pastDueSince: T + 200,
        });
      }),
      { seed: 7_260_214, numRuns: 1_000 },
    );
  });
});

describe('decideFetchedSubscription: Stripe state read from the API', () => {
  const MS = 1000;
  const event = (id: string, created: number) => ({ id, type: updated, created });
  /** A record as a read at `syncedAt` (or, with null, an event's payload) left it. */
  function stored(status: SubscriptionStatus, lastEventCreated: number, syncedAt: number | null): SubscriptionRecord {
    return {
      ...snapshot(status),
      userId: undefined,
      pastDueSince: null,
      lastEventId: 'evt_stored',
      lastEventType: updated,
      lastEventCreated,
      syncedAt,
    } as SubscriptionRecord;
  }

  it.each<{ name: string; current: SubscriptionRecord | null; readAt: number; causeCreated: number; apply: boolean }>([
    { name: 'a first read creates the record', current: null, readAt: T * MS, causeCreated: T - 5, apply: true },
    {
      name: 'a newer read overwrites an older one',
      current: stored('active', T - 9, (T - 1) * MS),
      readAt: T * MS,
      causeCreated: T - 9,
      apply: true,
    },
    {
      name: 'an older read never overwrites a newer one',
      current: stored('canceled', T - 9, (T + 1) * MS),
      readAt: T * MS,
      causeCreated: T - 5,
      apply: false,
    },
    {
      name: 'a read overwrites a payload record of an older event',
      current: stored('incomplete', T - 1, null),
      readAt: T * MS,
      causeCreated: T - 1,
      apply: true,
    },
    {
      name: 'a read does not overwrite a payload record of a newer event',
      current: stored('canceled', T + 3, null),
      readAt: T * MS,
      causeCreated: T - 1,
      apply: false,
    },
    {
      name: 'a read of the same second as a payload event applies',
      current: stored('incomplete', T, null),
      readAt: T * MS + 900,
      causeCreated: T,
      apply: true,
    },
  ])('$name', ({ current, readAt, causeCreated, apply }) => {
    const decision = decideFetchedSubscription(
      current,
      snapshot('active'),
      { fetchedAt: readAt, cause: event('evt_cause', causeCreated) },
      [],
    );
    expect(decision.apply).toBe(apply);
    if (decision.apply) expect(decision.next).toMatchObject({ status: 'active', syncedAt: readAt });
    else expect(decision.reason).toMatch(/newer/);
  });

  it('keeps the newest event stamp, whatever order the reads were caused in', () => {
    const first = decideFetchedSubscription(null, snapshot('active'), { fetchedAt: T * MS, cause: event('evt_new', T - 1) }, []);
    expect(first.apply).toBe(true);
    const second = decideFetchedSubscription(
      first.apply ? first.next : null,
      snapshot('active'),
      { fetchedAt: (T + 1) * MS, cause: event('evt_old', T - 50) },
      [],
    );
    expect(second).toMatchObject({ apply: true, next: { lastEventId: 'evt_new', lastEventCreated: T - 1, syncedAt: (T + 1) * MS } });
  });

  it.each<{ name: string; observations: StatusObservation[]; pastDueSince: number }>([
    {
      name: 'a past_due read starts the grace at its own time when no event showed past_due',
      observations: [{ created: T, status: 'past_due' }],
      pastDueSince: T,
    },
    {
      name: 'an earlier past_due event moves the start back',
      observations: [
        { created: T - 100, status: 'past_due' },
        { created: T, status: 'past_due' },
      ],
      pastDueSince: T - 100,
    },
    {
      name: 'a recovery before the read ends the earlier streak',
      observations: [
        { created: T - 100, status: 'past_due' },
        { created: T - 50, status: 'active' },
        { created: T, status: 'past_due' },
      ],
      pastDueSince: T,
    },
  ])('$name', ({ observations, pastDueSince }) => {
    const decision = decideFetchedSubscription(
      null,
      snapshot('past_due'),
      { fetchedAt: T * MS, cause: event('evt_1', T - 100) },
      observations,
    );
    expect(decision).toMatchObject({ apply: true, next: { pastDueSince } });
  });
});

describe('pastDueStreakStart', () => {
  it.each<[string, StatusObservation[], number, number]>([
    ['only past_due', [{ created: 5, status: 'past_due' }], 5, 5],
    [
      'a same-second other status does not end the streak',
      [
        { created: 5, status: 'active' },
        { created: 5, status: 'past_due' },
      ],
      5,
      5,
    ],
    [
      'observations after asOf are not counted',
      [
        { created: 5, status: 'past_due' },
        { created: 9, status: 'active' },
      ],
      5,
      5,
    ],
    [
      'earliest of the streak',
      [
        { created: 3, status: 'active' },
        { created: 7, status: 'past_due' },
        { created: 4, status: 'past_due' },
      ],
      7,
      4,
    ],
  ])('%s', (_name, observations, asOf, expected) => {
    expect(pastDueStreakStart(observations, asOf)).toBe(expected);
  });
});

describe('decidePaymentFact: invoices record payments, never status', () => {
  const none = null;
  const facts = (overrides: object) => ({
    subscriptionId: 'sub_1',
    lastPaymentSucceededAt: null,
    lastPaymentFailedAt: null,
    lastInvoiceId: 'in_old',
    ...overrides,
  });
  it.each([
    { name: 'before anything is known', current: none, outcome: 'failed', apply: true },
    { name: 'records a failure', current: facts({}), outcome: 'failed', apply: true },
    { name: 'records a success', current: facts({}), outcome: 'succeeded', apply: true },
    {
      name: 'an older failure does not replace a newer one',
      current: facts({ lastPaymentFailedAt: T + 10 }),
      outcome: 'failed',
      apply: false,
    },
    {
      name: 'a newer success replaces an older one',
      current: facts({ lastPaymentSucceededAt: T - 10 }),
      outcome: 'succeeded',
      apply: true,
    },
    {
      name: 'the same invoice again (a replay)',
      current: facts({ lastPaymentSucceededAt: T, lastInvoiceId: 'in_new' }),
      outcome: 'succeeded',
      apply: false,
    },
  ] as const)('$name', ({ current, outcome, apply }) => {
    const decision = decidePaymentFact(current, { id: 'in_new', subscriptionId: 'sub_1' }, outcome, {
      id: 'evt_inv',
      type: 'invoice.paid',
      created: T,
    });
    expect(decision.apply).toBe(apply);
    if (decision.apply) {
      expect(outcome === 'failed' ? decision.next.lastPaymentFailedAt : decision.next.lastPaymentSucceededAt).toBe(T);
      expect(decision.next.lastInvoiceId).toBe('in_new');
    }
  });
});
