import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Stripe from 'stripe';

/**
 * Stripe-shaped objects, built on Stripe's own examples (`stripe-fixtures.json`: the customer,
 * subscription, checkout.session, billing_portal.session and invoice resources of Stripe's
 * OpenAPI fixtures, MIT, see LICENSE-openapi) in the API version the `stripe` package pins.
 */
const fixtures = JSON.parse(readFileSync(new URL('./stripe-fixtures.json', import.meta.url), 'utf8')) as Record<string, any>;

export type StripeObject = Record<string, any>;

function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export interface Price {
  id: string;
  product: string;
  unitAmount: number;
  nickname: string;
}

export function customerObject(params: { email?: string; name?: string; metadata: Record<string, string> }): StripeObject {
  return {
    ...structuredClone(fixtures.customer),
    id: newId('cus'),
    created: nowSeconds(),
    email: params.email ?? null,
    name: params.name ?? null,
    metadata: params.metadata,
    discount: null,
  };
}

export function subscriptionObject(params: {
  customer: string;
  price: Price;
  metadata: Record<string, string>;
  latestInvoice: string;
}): StripeObject {
  const base = structuredClone(fixtures.subscription);
  const id = newId('sub');
  const now = nowSeconds();
  const subscription = {
    ...base,
    id,
    customer: params.customer,
    status: 'active',
    created: now,
    start_date: now,
    billing_cycle_anchor: now,
    cancel_at: null,
    canceled_at: null,
    cancel_at_period_end: false,
    ended_at: null,
    trial_start: null,
    trial_end: null,
    latest_invoice: params.latestInvoice,
    metadata: params.metadata,
    next_pending_invoice_item_invoice: null,
    pause_collection: null,
  };
  subscription.items = {
    ...base.items,
    url: `/v1/subscription_items?subscription=${id}`,
    data: [{ ...base.items.data[0], id: newId('si'), created: now, subscription: id }],
  };
  setPrice(subscription, params.price);
  const item = subscription.items.data[0];
  item.current_period_start = now;
  item.current_period_end = now + 30 * 86_400;
  return subscription;
}

/** Points the subscription's (only) item at another price, as a plan switch does. */
export function setPrice(subscription: StripeObject, price: Price): void {
  const item = subscription.items.data[0];
  item.price = {
    ...structuredClone(fixtures.subscription.items.data[0].price),
    id: price.id,
    product: price.product,
    unit_amount: price.unitAmount,
    unit_amount_decimal: String(price.unitAmount),
    nickname: price.nickname,
  };
  item.plan = {
    ...item.plan,
    id: price.id,
    product: price.product,
    amount: price.unitAmount,
    amount_decimal: String(price.unitAmount),
    nickname: price.nickname,
    billing_scheme: 'per_unit',
    interval_count: 1,
  };
}

export function invoiceObject(subscription: StripeObject, paid: boolean): StripeObject {
  const base = structuredClone(fixtures.invoice);
  const amount = subscription.items.data[0].price.unit_amount;
  return {
    ...base,
    id: newId('in'),
    created: nowSeconds(),
    customer: subscription.customer,
    status: paid ? 'paid' : 'open',
    amount_due: amount,
    amount_paid: paid ? amount : 0,
    amount_remaining: paid ? 0 : amount,
    attempted: true,
    attempt_count: 1,
    billing_reason: 'subscription_cycle',
    last_finalization_error: null,
    parent: {
      type: 'subscription_details',
      quote_details: null,
      subscription_details: { subscription: subscription.id, metadata: subscription.metadata },
    },
  };
}

export function checkoutSessionObject(params: StripeObject, url: string): StripeObject {
  const now = nowSeconds();
  return {
    ...structuredClone(fixtures['checkout.session']),
    id: newId('cs_test'),
    created: now,
    expires_at: now + 86_400,
    mode: 'subscription',
    status: 'open',
    payment_status: 'unpaid',
    payment_intent: null,
    customer: params.customer ?? null,
    // Filled in when the buyer pays (the fixture's example address would otherwise be every buyer's).
    customer_details: null,
    client_reference_id: params.client_reference_id ?? null,
    success_url: params.success_url,
    cancel_url: params.cancel_url ?? null,
    metadata: params.metadata ?? {},
    subscription: null,
    url,
  };
}

export function portalSessionObject(customer: string, returnUrl: string | null, url: string): StripeObject {
  return {
    ...structuredClone(fixtures['billing_portal.session']),
    id: newId('bps'),
    created: nowSeconds(),
    customer,
    return_url: returnUrl,
    url,
    flow: null,
    livemode: false,
    configuration: 'bpc_stand_in',
  };
}

export function eventObject(
  type: string,
  object: StripeObject,
  previous?: StripeObject,
  request?: { id: string; idempotencyKey: string | null },
): StripeObject {
  return {
    id: newId('evt'),
    object: 'event',
    api_version: Stripe.API_VERSION,
    created: nowSeconds(),
    data: previous ? { object: structuredClone(object), previous_attributes: previous } : { object: structuredClone(object) },
    livemode: false,
    pending_webhooks: 1,
    request: { id: request?.id ?? null, idempotency_key: request?.idempotencyKey ?? null },
    type,
  };
}

export function listObject(data: StripeObject[], hasMore: boolean, url: string): StripeObject {
  return { object: 'list', data, has_more: hasMore, url };
}
