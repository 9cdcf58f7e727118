import { describe, expect, it } from 'vitest';
import { orderingKeyOf } from '../../../src/subscriptions/index.js';
import {
  capturedEvent,
  checkoutCompletedEvent,
  customerEvent,
  entitlementSummaryEvent,
  invoiceEvent,
  subscriptionEvent,
} from '../../helpers/events.js';

/** An event's type and data, as intake reads them. */
const of = (event: { type: string; data: unknown }): [string, unknown] => [event.type, event.data];

const T = 1_800_000_000;
const sub = { id: 'sub_built', customer: 'cus_built', status: 'active' };
const invoiceObject = (fields: object) => ({ object: { object: 'invoice', id: 'in_1', customer: 'cus_inv', ...fields } });
const basilParent = (subscription: unknown) => ({ type: 'subscription_details', subscription_details: { subscription, metadata: {} } });
const subscriptionData = (id: unknown) => ({ object: { ...subscriptionEvent('updated', sub, T).data.object, id } });

describe('orderingKeyOf: what an event is about', () => {
  describe('captured Stripe deliveries (test/fixtures/stripe/captured-events)', () => {
    it.each<[file: string, key: string | null]>([
      ['subscription_created.json', 'sub_JdIzvfy6o5GZRd'],
      ['subscription_updated.json', 'sub_JLEPMp81LApOJl'],
      ['subscription_deleted.json', 'sub_JdIzvfy6o5GZRd'],
      ['invoice_paid.json', 'sub_JsuPyCPhXWfZar'],
      ['customer_updated.json', 'cus_IhGfebO16cMIGN'],
      ['customer_deleted.json', 'cus_IhGfebO16cMIGN'],
      ['checkout_session_completed.json', 'cus_IhGfebO16cMIGN'],
      ['active_entitlement_summary_updated.json', 'cus_Sll319ReSxCmEi'],
      // Types sync does not handle (see below).
      ['invoice_finalized.json', null],
      ['invoice_updated.json', null],
      ['invoice_payment_paid.json', null],
    ])('%s → %s', (file, key) => {
      expect(orderingKeyOf(...of(capturedEvent(file)))).toBe(key);
    });
  });

  describe('handled type families', () => {
    it.each<[name: string, type: string, data: unknown, key: string | null]>([
      ...['created', 'updated', 'deleted', 'paused', 'resumed', 'trial_will_end', 'pending_update_applied'].map(
        (t): [string, string, unknown, string] => [
          `customer.subscription.${t}: the subscription`,
          ...of(subscriptionEvent(t, sub, T)),
          'sub_built',
        ],
      ),
      [
        'invoice.paid, basil (2025-03-31+): parent.subscription_details.subscription',
        ...of(invoiceEvent('paid', { subscription: 'sub_basil', customer: 'cus_x', created: T })),
        'sub_basil',
      ],
      [
        'invoice.payment_failed, old API: subscription',
        ...of(invoiceEvent('payment_failed', { subscription: 'sub_old', customer: 'cus_x', created: T, shape: 'legacy' })),
        'sub_old',
      ],
      [
        'invoice.paid, old API, subscription expanded',
        'invoice.paid',
        invoiceObject({ subscription: { id: 'sub_expanded', object: 'subscription' } }),
        'sub_expanded',
      ],
      [
        'invoice.paid, basil, subscription expanded',
        'invoice.paid',
        invoiceObject({ parent: basilParent({ id: 'sub_basil_expanded' }) }),
        'sub_basil_expanded',
      ],
      [
        'invoice.paid, both fields: the old one first',
        'invoice.paid',
        invoiceObject({ subscription: 'sub_old', parent: basilParent('sub_new') }),
        'sub_old',
      ],
      [
        'invoice.paid, old field null: the basil one',
        'invoice.paid',
        invoiceObject({ subscription: null, parent: basilParent('sub_new') }),
        'sub_new',
      ],
      [
        'invoice.paid of no subscription (a one-off invoice): none, not the customer',
        'invoice.paid',
        invoiceObject({ subscription: null, parent: null }),
        null,
      ],
      ['customer.created: the customer', ...of(customerEvent('created', { id: 'cus_new', created: T })), 'cus_new'],
      ['customer.updated: the customer', ...of(customerEvent('updated', { id: 'cus_upd', userId: 'user_1', created: T })), 'cus_upd'],
      ['customer.deleted: the customer', ...of(customerEvent('deleted', { id: 'cus_del', created: T })), 'cus_del'],
      [
        'checkout.session.completed: its customer',
        ...of(checkoutCompletedEvent({ customer: 'cus_checkout', userId: 'user_1', subscription: 'sub_checkout', created: T })),
        'cus_checkout',
      ],
      [
        'checkout.session.completed, customer expanded',
        'checkout.session.completed',
        { object: { object: 'checkout.session', id: 'cs_1', customer: { id: 'cus_exp' } } },
        'cus_exp',
      ],
      [
        'checkout.session.completed with no customer',
        'checkout.session.completed',
        { object: { object: 'checkout.session', id: 'cs_1', customer: null } },
        null,
      ],
      [
        'entitlements.active_entitlement_summary.updated: its customer',
        ...of(entitlementSummaryEvent({ customer: 'cus_ent', features: ['pro'], created: T })),
        'cus_ent',
      ],
    ])('%s', (_name, type, data, key) => {
      expect(orderingKeyOf(type, data)).toBe(key);
    });
  });

  // Before the move into the event-type descriptors these were keyed too (by `customer`, by `id` for
  // customer.*, by the subscription for invoice.*): sync ignores them, so they now wait for nothing.
  describe('types sync does not handle: no key, whatever the object names', () => {
    it.each<[type: string, object: unknown]>([
      ['charge.succeeded', { object: 'charge', id: 'ch_1', customer: 'cus_charge' }],
      ['payment_intent.succeeded', { object: 'payment_intent', id: 'pi_1', customer: { id: 'cus_pi', object: 'customer' } }],
      ['invoice.finalized', { object: 'invoice', id: 'in_1', customer: 'cus_inv', subscription: 'sub_fin' }],
      ['invoiceitem.created', { object: 'invoiceitem', id: 'ii_1', customer: 'cus_ii', subscription: 'sub_ii' }],
      ['checkout.session.expired', { object: 'checkout.session', id: 'cs_1', customer: 'cus_exp' }],
      ['product.created', { object: 'product', id: 'prod_1' }],
      ['customer.discount.created', { object: 'discount', id: 'di_1', customer: 'cus_disc', subscription: 'sub_disc' }],
      ['customer.source.created', { object: 'card', id: 'card_1', customer: 'cus_card' }],
      ['customer.tax_id.created', { object: 'tax_id', id: 'txi_1', customer: 'cus_tax' }],
    ])('%s %j', (type, object) => {
      expect(orderingKeyOf(type, { object })).toBeNull();
    });
  });

  describe('malformed data: no key', () => {
    const long = (n: number) => `sub_${'x'.repeat(n - 4)}`;
    it.each<[name: string, type: string, data: unknown]>([
      ['no data', 'customer.subscription.updated', undefined],
      ['null data', 'customer.subscription.updated', null],
      ['data a string', 'customer.subscription.updated', 'sub_1'],
      ['data a number', 'invoice.paid', 42],
      ['no object', 'customer.subscription.updated', {}],
      ['object null', 'customer.updated', { object: null }],
      ['object a string', 'customer.subscription.updated', { object: 'sub_1' }],
      ['object a number', 'checkout.session.completed', { object: 7 }],
      ['object an array', 'customer.subscription.updated', { object: ['sub_1'] }],
      ['subscription without id', 'customer.subscription.updated', subscriptionData(undefined)],
      ['subscription id null', 'customer.subscription.updated', subscriptionData(null)],
      ['subscription id a number', 'customer.subscription.updated', subscriptionData(123)],
      ['subscription id empty', 'customer.subscription.updated', subscriptionData('')],
      ['subscription id with a newline', 'customer.subscription.updated', subscriptionData('sub_1\nsub_2')],
      ['subscription id with NUL', 'customer.subscription.updated', subscriptionData('sub_\u0000')],
      ['subscription id with DEL', 'customer.subscription.updated', subscriptionData('sub_\u007f')],
      ['subscription id of 256 characters', 'customer.subscription.updated', subscriptionData(long(256))],
      ['invoice naming no subscription anywhere', 'invoice.paid', invoiceObject({})],
      ['invoice subscription expanded without id', 'invoice.paid', invoiceObject({ subscription: { object: 'subscription' } })],
      ['invoice subscription with a tab', 'invoice.paid', invoiceObject({ subscription: 'sub_\t1' })],
      ['invoice parent subscription of 300 characters', 'invoice.paid', invoiceObject({ parent: basilParent(long(300)) })],
      ['customer id with a control character', 'customer.updated', { object: { object: 'customer', id: 'cus_\u0001' } }],
      [
        'checkout customer expanded with a numeric id',
        'checkout.session.completed',
        { object: { object: 'checkout.session', id: 'cs_1', customer: { id: 1 } } },
      ],
      [
        'entitlement summary without customer',
        'entitlements.active_entitlement_summary.updated',
        { object: { object: 'entitlements.active_entitlement_summary' } },
      ],
    ])('%s', (_name, type, data) => {
      expect(orderingKeyOf(type, data)).toBeNull();
    });

    it('accepts ids up to 255 characters, and non-ASCII printable text', () => {
      expect(orderingKeyOf('customer.subscription.updated', subscriptionData(long(255)))).toBe(long(255));
      expect(orderingKeyOf('customer.subscription.updated', subscriptionData('sub_é✓'))).toBe('sub_é✓');
    });
  });
});
