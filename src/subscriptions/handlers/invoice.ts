import { decidePaymentFact, type PaymentOutcome } from '../decide.js';
import { parseInvoice } from '../stripe-objects.js';
import type { EventHandler } from './types.js';

/** invoice.paid / invoice.payment_failed: payment facts on the record; the status moves only with subscription events. */
function paymentFactHandler(outcome: PaymentOutcome): EventHandler {
  return async (event, repo) => {
    const invoice = parseInvoice(event.data.object);
    if (!invoice.subscriptionId) return { outcome: `invoice ${invoice.id} belongs to no subscription` };
    const subscriptionId = invoice.subscriptionId;
    await repo.lockSubscription(subscriptionId);
    const current = await repo.getPaymentFacts(subscriptionId);
    const decision = decidePaymentFact(current, { id: invoice.id, subscriptionId }, outcome, event);
    if (!decision.apply) return { outcome: `invoice ${invoice.id} not recorded: ${decision.reason}` };
    await repo.savePaymentFacts(current, decision.next, event);
    return { outcome: `payment ${outcome} recorded for subscription ${invoice.subscriptionId}` };
  };
}

export const handleInvoicePaid = paymentFactHandler('succeeded');
export const handleInvoicePaymentFailed = paymentFactHandler('failed');
