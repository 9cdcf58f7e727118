import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import {
  parseCheckoutSession,
  parseCustomer,
  parseEntitlementSummary,
  parseInvoice,
  parseSubscription,
} from '../../src/subscriptions/stripe-objects.js';
import { capturedEvent, subscriptionObject } from '../helpers/events.js';

describe('reading Stripe objects in both API shapes', () => {
  it('a captured 2020-03-02 subscription: periods on the subscription', () => {
    const s = parseSubscription(capturedEvent('subscription_created.json').data.object);
    expect(s).toMatchObject({
      id: 'sub_JdIzvfy6o5GZRd',
      customerId: 'cus_IhGfebO16cMIGN',
      priceId: 'price_1IDQm5JDPojXS6LNM31hxKzp',
      productId: 'prod_Ip4vqwv3EJ7Mi0',
      currentPeriodStart: 1623148918,
      currentPeriodEnd: 1625740918,
    });
  });

  it('a current-shape subscription: periods on its items', () => {
    const object = subscriptionObject({
      id: 'sub_x',
      customer: 'cus_x',
      status: 'trialing',
      periodStart: 100,
      periodEnd: 200,
      priceId: 'price_p',
    });
    expect(object.current_period_end).toBeUndefined();
    expect(parseSubscription(object)).toMatchObject({
      status: 'trialing',
      currentPeriodStart: 100,
      currentPeriodEnd: 200,
      priceId: 'price_p',
    });
  });

  it('an expanded customer reference reads as its id, and metadata.user_id as the user', () => {
    const object = {
      ...subscriptionObject({ id: 'sub_x', customer: 'cus_x', status: 'active', userId: 'usr_1' }),
      customer: { id: 'cus_exp', object: 'customer' },
    };
    expect(parseSubscription(object)).toMatchObject({ customerId: 'cus_exp', userId: 'usr_1' });
  });

  it.each([
    ['unknown status', { status: 'zombie' }, 'status'],
    ['missing customer', { customer: undefined }, 'customer'],
    ['mistyped period end', { current_period_end: 'soon' }, 'current_period_end'],
    ['not a subscription', { object: 'invoice' }, 'object'],
  ])('rejects %s with the path in the message', (_name, patch, path) => {
    const object = { ...subscriptionObject({ id: 'sub_x', customer: 'cus_x', status: 'active', shape: 'legacy' }), ...patch };
    expect(() => parseSubscription(object)).toThrow(ZodError);
    try {
      parseSubscription(object);
    } catch (error) {
      expect((error as ZodError).issues[0]!.path.join('.')).toBe(path);
    }
  });

  it('invoices name their subscription in either place', () => {
    expect(parseInvoice(capturedEvent('invoice_paid.json').data.object).subscriptionId).toMatch(/^sub_/);
    expect(
      parseInvoice({ object: 'invoice', id: 'in_1', parent: { subscription_details: { subscription: 'sub_new' } } }).subscriptionId,
    ).toBe('sub_new');
    expect(parseInvoice({ object: 'invoice', id: 'in_1', parent: null }).subscriptionId).toBe(null);
  });

  it('captured customer, checkout session and entitlement summary events', () => {
    expect(parseCustomer(capturedEvent('customer_deleted.json').data.object)).toEqual({
      id: 'cus_IhGfebO16cMIGN',
      deleted: true,
      userId: null,
    });
    expect(parseCheckoutSession(capturedEvent('checkout_session_completed.json').data.object)).toMatchObject({
      customerId: 'cus_IhGfebO16cMIGN',
    });
    expect(parseEntitlementSummary(capturedEvent('active_entitlement_summary_updated.json').data.object)).toEqual({
      customerId: 'cus_Sll319ReSxCmEi',
      features: ['journeys'],
    });
  });
});
