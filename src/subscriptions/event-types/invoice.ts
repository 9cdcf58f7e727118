import { decidePaymentFact, type PaymentOutcome } from '../decide.js';
import { type InvoiceSnapshot, KEY_FIELDS, parseInvoice, subscriptionOfInvoice } from '../stripe-objects.js';
import { type EventType, keyOf } from './types.js';

/** invoice.paid / invoice.payment_failed: payment facts on the record; the status moves only with subscription events. */
function paymentFacts(type: string, outcome: PaymentOutcome): EventType<InvoiceSnapshot> {
  return {
    types: [type],
    parse: parseInvoice,
    // An invoice is about its subscription: its facts and the subscription's events share one order.
    orderingKey: keyOf(KEY_FIELDS.invoice, subscriptionOfInvoice),
    needs: (invoice) => (invoice.subscriptionId ? { locks: [invoice.subscriptionId], payments: [invoice.subscriptionId] } : {}),
    async apply(records, invoice, event) {
      if (!invoice.subscriptionId) return { outcome: `invoice ${invoice.id} belongs to no subscription` };
      const subscriptionId = invoice.subscriptionId;
      await records.lockSubscription(subscriptionId);
      const current = await records.getPaymentFacts(subscriptionId);
      const decision = decidePaymentFact(current, { id: invoice.id, subscriptionId }, outcome, event);
      if (!decision.apply) return { outcome: `invoice ${invoice.id} not recorded: ${decision.reason}` };
      records.savePaymentFacts(current, decision.next, event);
      return { outcome: `payment ${outcome} recorded for subscription ${subscriptionId}` };
    },
  };
}

export const invoicePaid = paymentFacts('invoice.paid', 'succeeded');
export const invoicePaymentFailed = paymentFacts('invoice.payment_failed', 'failed');
