import { describe, expect, it } from 'vitest';
import { decideCustomerFact, decideLink, observe, type SeenStatus } from '../../src/subscriptions/decide.js';

const stamp = (id: string, created: number) => ({ id, type: 'customer.subscription.updated', created });

describe('first link wins (decideLink)', () => {
  it.each<[string, string | null, string, ReturnType<typeof decideLink>]>([
    ['an unlinked customer is linked', null, 'usr_a', { link: true }],
    ['a customer linked to the same user stays linked', 'usr_a', 'usr_a', { link: true }],
    ['a customer linked to another user is not taken over', 'usr_b', 'usr_a', { link: false, existingUserId: 'usr_b' }],
  ])('%s', (_name, linkedUser, userId, expected) => {
    expect(decideLink(linkedUser, userId)).toEqual(expected);
  });
});

describe('customer facts: entitlement summaries, emails (decideCustomerFact)', () => {
  it.each<[string, number | null, number, boolean]>([
    ['the first summary is stored', null, 100, true],
    ['a newer summary replaces the stored one', 100, 101, true],
    ['a summary of the same second replaces it (the later arrival wins)', 100, 100, true],
    ['an older summary never replaces a newer one', 101, 100, false],
  ])('%s', (_name, storedCreated, eventCreated, expected) => {
    expect(decideCustomerFact(storedCreated, eventCreated)).toBe(expected);
  });
});

describe('status observations (observe)', () => {
  const seen: SeenStatus[] = [{ eventId: 'evt_1', created: 100, status: 'active' }];

  it.each<[string, readonly SeenStatus[], ReturnType<typeof stamp>, SeenStatus[]]>([
    ['the first observation of a subscription', [], stamp('evt_1', 100), [{ eventId: 'evt_1', created: 100, status: 'active' }]],
    ['a new event is added', seen, stamp('evt_2', 90), [...seen, { eventId: 'evt_2', created: 90, status: 'active' }]],
    ['a replayed event is observed once', seen, stamp('evt_1', 100), seen],
  ])('%s', (_name, before, event, expected) => {
    expect(observe(before, event, 'active')).toEqual(expected);
  });

  it('does not change the list it is given', () => {
    const before = [...seen];
    observe(before, stamp('evt_2', 90), 'past_due');
    expect(before).toEqual(seen);
  });
});
