import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Stripe from 'stripe';
import { registerCustomerData, registerSecret } from './log-scan.js';
import { TEST_SECRET } from './service.js';

/** Stripe-shaped test events, built on Stripe's own examples and captured deliveries in test/fixtures/stripe. */

export const STRIPE_FIXTURES_DIR = fileURLToPath(new URL('../fixtures/stripe/', import.meta.url));

function readJson(path: string): any {
  return JSON.parse(readFileSync(STRIPE_FIXTURES_DIR + path, 'utf8'));
}

const fixtures = readJson('openapi-fixtures3.json').resources;
const capturedSubscription = readJson('captured-events/subscription_created.json').data.object;
const capturedInvoice = readJson('captured-events/invoice_paid.json').data.object;

export function capturedEvent(file: string): any {
  return readJson(`captured-events/${file}`);
}

/** `legacy`: API versions before 2025-03-31 (periods on the subscription); `current`: basil and later (periods on items). */
export type Shape = 'legacy' | 'current';
export const SHAPES: Shape[] = ['legacy', 'current'];

const API_VERSION: Record<Shape, string> = { legacy: '2020-03-02', current: Stripe.API_VERSION };

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(10).toString('hex')}`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export interface StripeEventBody {
  id: string;
  object: 'event';
  type: string;
  created: number;
  api_version: string;
  data: { object: any; previous_attributes?: any };
  livemode: boolean;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
}

export function envelope(type: string, object: unknown, created: number, shape: Shape = 'current', id = newId('evt')): StripeEventBody {
  return {
    id,
    object: 'event',
    api_version: API_VERSION[shape],
    created,
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
}

export interface SubscriptionSpec {
  id: string;
  customer: string;
  status: string;
  priceId?: string;
  productId?: string;
  periodStart?: number;
  periodEnd?: number;
  cancelAtPeriodEnd?: boolean;
  cancelAt?: number | null;
  canceledAt?: number | null;
  userId?: string;
  shape?: Shape;
}

export function subscriptionObject(spec: SubscriptionSpec): any {
  const shape = spec.shape ?? 'current';
  const periodStart = spec.periodStart ?? nowSeconds() - 86_400;
  const periodEnd = spec.periodEnd ?? periodStart + 30 * 86_400;
  const base = structuredClone(shape === 'current' ? fixtures.subscription : capturedSubscription);
  const item = base.items.data[0];
  item.price = { ...item.price, id: spec.priceId ?? 'price_basic', product: spec.productId ?? 'prod_extension' };
  if (item.plan) item.plan = { ...item.plan, id: spec.priceId ?? 'price_basic', product: spec.productId ?? 'prod_extension' };
  item.subscription = spec.id;
  if (shape === 'current') {
    item.current_period_start = periodStart;
    item.current_period_end = periodEnd;
    delete base.current_period_start;
    delete base.current_period_end;
  } else {
    base.current_period_start = periodStart;
    base.current_period_end = periodEnd;
  }
  return {
    ...base,
    id: spec.id,
    customer: spec.customer,
    status: spec.status,
    cancel_at_period_end: spec.cancelAtPeriodEnd ?? false,
    cancel_at: spec.cancelAt ?? null,
    canceled_at: spec.canceledAt ?? (spec.status === 'canceled' ? periodStart : null),
    ended_at: spec.status === 'canceled' ? periodStart : null,
    trial_end: null,
    metadata: spec.userId ? { user_id: spec.userId } : {},
  };
}

export function subscriptionEvent(type: string, spec: SubscriptionSpec, created: number, id?: string): StripeEventBody {
  return envelope(`customer.subscription.${type}`, subscriptionObject(spec), created, spec.shape, id);
}

export function checkoutCompletedEvent(options: {
  customer: string;
  userId: string | null;
  subscription: string;
  created: number;
}): StripeEventBody {
  const session = {
    ...structuredClone(fixtures['checkout.session']),
    id: newId('cs_test'),
    mode: 'subscription',
    status: 'complete',
    customer: options.customer,
    subscription: options.subscription,
    client_reference_id: options.userId,
    metadata: {},
  };
  return envelope('checkout.session.completed', session, options.created);
}

export function customerEvent(
  type: 'created' | 'updated' | 'deleted',
  options: { id: string; userId?: string; created: number },
): StripeEventBody {
  const customer =
    type === 'deleted'
      ? { id: options.id, object: 'customer', deleted: true }
      : { ...structuredClone(fixtures.customer), id: options.id, metadata: options.userId ? { user_id: options.userId } : {} };
  return envelope(`customer.${type}`, customer, options.created);
}

export function invoiceEvent(
  type: 'paid' | 'payment_failed',
  options: { subscription: string; customer: string; created: number; shape?: Shape },
): StripeEventBody {
  const shape = options.shape ?? 'current';
  const base = structuredClone(shape === 'current' ? fixtures.invoice : capturedInvoice);
  const invoice: any = { ...base, id: newId('in'), customer: options.customer };
  if (shape === 'current') {
    invoice.parent = { type: 'subscription_details', subscription_details: { subscription: options.subscription, metadata: {} } };
    delete invoice.subscription;
  } else {
    invoice.subscription = options.subscription;
  }
  return envelope(`invoice.${type}`, invoice, options.created, shape);
}

export function entitlementSummaryEvent(options: { customer: string; features: string[]; created: number }): StripeEventBody {
  return envelope(
    'entitlements.active_entitlement_summary.updated',
    {
      object: 'entitlements.active_entitlement_summary',
      customer: options.customer,
      entitlements: {
        object: 'list',
        data: options.features.map((key) => ({
          id: newId('ent'),
          object: 'entitlements.active_entitlement',
          feature: newId('feat'),
          livemode: false,
          lookup_key: key,
        })),
        has_more: false,
      },
      livemode: false,
    },
    options.created,
  );
}

/** Stripe sends pretty-printed JSON; so do we, so that the body is byte-for-byte what was signed. */
export function serialize(event: unknown): string {
  return JSON.stringify(event, null, 2);
}

export function signatureHeader(payload: string, options: { secret?: string; timestamp?: number } = {}): string {
  const secret = options.secret ?? TEST_SECRET;
  const header = Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: options.timestamp ?? nowSeconds() });
  registerSecret('a webhook secret a test signed with', secret);
  registerSecret('a Stripe-Signature (v1) of a signed delivery', /v1=([0-9a-f]+)/.exec(header)?.[1]);
  return header;
}

export interface DeliveryResult {
  status: number;
  body: any;
}

/** POSTs a body to the webhook endpoint over real HTTP, signed like Stripe unless a header is given. */
export async function deliver(
  baseUrl: string,
  event: unknown,
  options: { secret?: string; timestamp?: number; headers?: Record<string, string>; body?: string } = {},
): Promise<DeliveryResult> {
  const payload = options.body ?? serialize(event);
  registerCustomerData(event);
  const headers = options.headers ?? {
    'content-type': 'application/json; charset=utf-8',
    'stripe-signature': signatureHeader(payload, options),
  };
  const response = await fetch(`${baseUrl}/webhooks/stripe`, { method: 'POST', headers, body: payload });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** Delivers events in the given order, one at a time, asserting each was accepted. */
export async function deliverAll(baseUrl: string, events: unknown[]): Promise<void> {
  for (const event of events) {
    const result = await deliver(baseUrl, event);
    if (result.status !== 200) throw new Error(`delivery answered ${result.status}: ${JSON.stringify(result.body)}`);
  }
}
