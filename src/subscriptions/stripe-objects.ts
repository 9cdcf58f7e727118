import { z } from 'zod';

/**
 * The few fields of Stripe objects that sync uses, read from either API shape:
 * before 2025-03-31.basil `current_period_*` sit on the subscription and an invoice names its
 * subscription at `invoice.subscription`; from basil on they sit on the items and at
 * `invoice.parent.subscription_details.subscription`. Unknown fields are ignored (and left out of
 * what a schema returns, which spares copying them: `z.object`, not `z.looseObject`), missing or
 * mistyped used fields fail validation with a readable path.
 */

const SUBSCRIPTION_STATUSES = [
  'trialing',
  'active',
  'past_due',
  'unpaid',
  'canceled',
  'incomplete',
  'incomplete_expired',
  'paused',
] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/**
 * PostgreSQL text cannot hold NUL; refusing it here makes such a payload dead on every backend alike, instead of a retried database error.
 */
const text = z.string().regex(/^[^\u0000]*$/, 'must not contain NUL characters');
const unixTime = z.number().int().nonnegative();
const optionalTime = unixTime
  .nullable()
  .optional()
  .transform((v) => v ?? null);
/** An id, or the expanded object carrying it. */
const reference = z.union([text.min(1), z.object({ id: text.min(1) })]).transform((v) => (typeof v === 'string' ? v : v.id));
const metadata = z
  .record(text, text)
  .nullable()
  .optional()
  .transform((v) => v ?? {});

const subscriptionItem = z.object({
  price: z
    .object({ id: text.min(1), product: reference.nullable().optional() })
    .nullable()
    .optional(),
  current_period_start: optionalTime,
  current_period_end: optionalTime,
});

const subscriptionSchema = z.object({
  object: z.literal('subscription'),
  id: text.min(1),
  // Read with `expand: ['customer']` in refetch mode, so that the customer's metadata can link it.
  customer: z.union([text.min(1), z.object({ id: text.min(1), metadata })]),
  status: z.enum(SUBSCRIPTION_STATUSES),
  cancel_at_period_end: z.boolean().nullable().optional(),
  cancel_at: optionalTime,
  canceled_at: optionalTime,
  ended_at: optionalTime,
  trial_end: optionalTime,
  current_period_start: optionalTime,
  current_period_end: optionalTime,
  metadata,
  items: z
    .object({ data: z.array(subscriptionItem) })
    .nullable()
    .optional(),
});

/** A subscription as sync stores it, independent of the API version that delivered it. */
export interface SubscriptionSnapshot {
  id: string;
  customerId: string;
  status: SubscriptionStatus;
  priceId: string | null;
  productId: string | null;
  currentPeriodStart: number | null;
  currentPeriodEnd: number | null;
  cancelAtPeriodEnd: boolean;
  cancelAt: number | null;
  canceledAt: number | null;
  endedAt: number | null;
  trialEnd: number | null;
  /** `metadata.user_id`, which links the customer to a user of the extension. */
  userId: string | null;
}

export function parseSubscription(object: unknown): SubscriptionSnapshot {
  const s = subscriptionSchema.parse(object);
  const items = s.items?.data ?? [];
  const first = items[0];
  const latest = (pick: (i: z.infer<typeof subscriptionItem>) => number | null) =>
    items.reduce<number | null>((max, item) => {
      const value = pick(item);
      return value !== null && (max === null || value > max) ? value : max;
    }, null);
  const customer = typeof s.customer === 'string' ? { id: s.customer, metadata: {} as Record<string, string> } : s.customer;
  return {
    id: s.id,
    customerId: customer.id,
    status: s.status,
    priceId: first?.price?.id ?? null,
    productId: first?.price?.product ?? null,
    currentPeriodStart: s.current_period_start ?? latest((i) => i.current_period_start),
    currentPeriodEnd: s.current_period_end ?? latest((i) => i.current_period_end),
    cancelAtPeriodEnd: s.cancel_at_period_end === true,
    cancelAt: s.cancel_at,
    canceledAt: s.canceled_at,
    endedAt: s.ended_at,
    trialEnd: s.trial_end,
    userId: s.metadata.user_id ?? customer.metadata.user_id ?? null,
  };
}

const customerSchema = z.object({
  object: z.literal('customer'),
  id: text.min(1),
  deleted: z.boolean().optional(),
  metadata,
});

export interface CustomerSnapshot {
  id: string;
  deleted: boolean;
  userId: string | null;
}

export function parseCustomer(object: unknown): CustomerSnapshot {
  const c = customerSchema.parse(object);
  return { id: c.id, deleted: c.deleted === true, userId: c.metadata.user_id ?? null };
}

const checkoutSessionSchema = z.object({
  object: z.literal('checkout.session'),
  id: text.min(1),
  client_reference_id: text.nullable().optional(),
  customer: reference.nullable().optional(),
  subscription: reference.nullable().optional(),
  metadata,
});

export interface CheckoutSessionSnapshot {
  id: string;
  customerId: string | null;
  subscriptionId: string | null;
  userId: string | null;
}

export function parseCheckoutSession(object: unknown): CheckoutSessionSnapshot {
  const s = checkoutSessionSchema.parse(object);
  return {
    id: s.id,
    customerId: s.customer ?? null,
    subscriptionId: s.subscription ?? null,
    userId: s.client_reference_id ?? s.metadata.user_id ?? null,
  };
}

const invoiceSchema = z.object({
  object: z.literal('invoice'),
  id: text.min(1),
  subscription: reference.nullable().optional(),
  parent: z
    .object({
      subscription_details: z.object({ subscription: reference.nullable().optional() }).nullable().optional(),
    })
    .nullable()
    .optional(),
});

export interface InvoiceSnapshot {
  id: string;
  subscriptionId: string | null;
}

export function parseInvoice(object: unknown): InvoiceSnapshot {
  const i = invoiceSchema.parse(object);
  return { id: i.id, subscriptionId: subscriptionOfInvoice(i) };
}

/** Where the invoice names its subscription: `subscription` before basil, `parent.subscription_details` from basil on. */
export function subscriptionOfInvoice(i: Pick<z.infer<typeof invoiceSchema>, 'subscription' | 'parent'>): string | null {
  return i.subscription ?? i.parent?.subscription_details?.subscription ?? null;
}

const entitlementSummarySchema = z.object({
  object: z.literal('entitlements.active_entitlement_summary'),
  customer: text.min(1),
  entitlements: z.object({ data: z.array(z.object({ lookup_key: text })) }),
});

export interface EntitlementSummarySnapshot {
  customerId: string;
  features: string[];
}

export function parseEntitlementSummary(object: unknown): EntitlementSummarySnapshot {
  const s = entitlementSummarySchema.parse(object);
  return { customerId: s.customer, features: [...new Set(s.entitlements.data.map((e) => e.lookup_key))].sort() };
}

/**
 * An address as the service compares them: trimmed and lower-cased; null unless it is a plain
 * `local@domain.tld` (no quotes, comments, brackets, commas or control characters, which could name
 * another recipient to an SMTP server) of at most 253 characters, as SMTP servers accept.
 */
export function normalizeEmail(value: string): string | null {
  const email = value.trim().toLowerCase();
  return email.length <= 253 && PLAIN_ADDRESS.test(email) ? email : null;
}

const PLAIN_ADDRESS =
  /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

const customerEmailSchema = z.object({ email: text.nullable().optional() });
const checkoutEmailSchema = z.object({ customer_details: z.object({ email: text.nullable().optional() }).nullable().optional() });

/** The email Stripe has for a customer (`customer.email`), normalized; null when none or not an address. */
export function parseCustomerEmail(object: unknown): string | null {
  const { email } = customerEmailSchema.parse(object);
  return email ? normalizeEmail(email) : null;
}

/** The email the buyer gave at Checkout (`customer_details.email`), normalized; null when none. */
export function parseCheckoutEmail(object: unknown): string | null {
  const email = checkoutEmailSchema.parse(object).customer_details?.email;
  return email ? normalizeEmail(email) : null;
}

/**
 * The fields of each object that say what its event is about (its ordering key), as parts of the
 * very schemas the handlers parse with: intake reads only these, cheaply, and cannot read them
 * otherwise than sync does.
 */
export const KEY_FIELDS = {
  subscription: subscriptionSchema.pick({ object: true, id: true }),
  customer: customerSchema.pick({ object: true, id: true }),
  checkoutSession: checkoutSessionSchema.pick({ object: true, customer: true }),
  invoice: invoiceSchema.pick({ object: true, subscription: true, parent: true }),
  entitlementSummary: entitlementSummarySchema.pick({ object: true, customer: true }),
};
