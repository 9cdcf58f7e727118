import {
  checkoutSessionObject,
  customerObject,
  eventObject,
  invoiceObject,
  nowSeconds,
  type Price,
  portalSessionObject,
  type StripeObject,
  setPrice,
  subscriptionObject,
} from './objects.js';

/** A request error Stripe would answer with, as the HTTP layer renders it. */
export class StripeApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly code?: string,
    readonly param?: string,
  ) {
    super(message);
  }
}

function missing(kind: string, id: string, param = 'id'): StripeApiError {
  return new StripeApiError(404, 'invalid_request_error', `No such ${kind}: '${id}'`, 'resource_missing', param);
}

const LIVE = new Set(['active', 'trialing', 'past_due', 'unpaid', 'paused', 'incomplete']);

/**
 * The stand-in's Stripe account, in memory: customers, prices, subscriptions, Checkout and portal
 * sessions, and the events every change produces (handed to `onEvent` for webhook delivery).
 */
export class StripeState {
  readonly customers = new Map<string, StripeObject>();
  readonly subscriptions = new Map<string, StripeObject>();
  readonly checkoutSessions = new Map<string, StripeObject & { _price?: Price; _subscriptionMetadata?: Record<string, string> }>();
  readonly portalSessions = new Map<string, StripeObject>();
  /** Every event, oldest first. */
  readonly events: StripeObject[] = [];
  readonly prices: Map<string, Price>;

  constructor(
    prices: Price[],
    private readonly baseUrl: () => string,
    private readonly onEvent: (event: StripeObject) => void,
  ) {
    this.prices = new Map(prices.map((p) => [p.id, p]));
  }

  private emit(type: string, object: StripeObject, previous?: StripeObject): void {
    const event = eventObject(type, object, previous);
    this.events.push(event);
    this.onEvent(event);
  }

  customer(id: string): StripeObject {
    const customer = this.customers.get(id);
    if (!customer) throw missing('customer', id);
    return customer;
  }

  subscription(id: string): StripeObject {
    const subscription = this.subscriptions.get(id);
    if (!subscription) throw missing('subscription', id);
    return subscription;
  }

  price(id: string, param: string): Price {
    const price = this.prices.get(id);
    if (!price) throw missing('price', id, param);
    return price;
  }

  createCustomer(params: StripeObject): StripeObject {
    const customer = customerObject({ email: params.email, name: params.name, metadata: params.metadata ?? {} });
    this.customers.set(customer.id, customer);
    this.emit('customer.created', customer);
    return customer;
  }

  updateCustomer(id: string, params: StripeObject): StripeObject {
    const customer = this.customer(id);
    const previous = { metadata: { ...customer.metadata } };
    Object.assign(customer, { ...params, metadata: { ...customer.metadata, ...(params.metadata ?? {}) } });
    this.emit('customer.updated', customer, previous);
    return customer;
  }

  createCheckoutSession(params: StripeObject): StripeObject {
    if (params.mode !== 'subscription')
      throw new StripeApiError(400, 'invalid_request_error', 'The stand-in supports mode=subscription only', undefined, 'mode');
    if (!params.success_url)
      throw new StripeApiError(400, 'invalid_request_error', 'Missing required param: success_url.', 'parameter_missing', 'success_url');
    const lineItems = Array.isArray(params.line_items) ? params.line_items : [];
    if (lineItems.length !== 1 || !lineItems[0]?.price)
      throw new StripeApiError(
        400,
        'invalid_request_error',
        'Exactly one line item with a price is required',
        'parameter_missing',
        'line_items',
      );
    const price = this.price(lineItems[0].price, 'line_items[0][price]');
    if (params.customer) this.customer(params.customer);
    const session = checkoutSessionObject(params, '');
    session.url = `${this.baseUrl()}/checkout/${session.id}`;
    this.checkoutSessions.set(session.id, { ...session, _price: price, _subscriptionMetadata: params.subscription_data?.metadata ?? {} });
    return session;
  }

  checkoutSession(id: string): StripeObject {
    const session = this.checkoutSessions.get(id);
    if (!session) throw missing('checkout.session', id);
    return publicView(session);
  }

  /**
   * The hosted page's "Pay": the session's subscription starts, paid, and its events go out. The
   * email typed on the page becomes `customer_details.email` and, as in Stripe, the customer's email.
   */
  completeCheckout(id: string, email?: string): StripeObject {
    const session = this.checkoutSessions.get(id);
    if (!session) throw missing('checkout.session', id);
    if (session.status === 'complete') return publicView(session);
    const customer: string = session.customer ?? this.createCustomer({ metadata: {} }).id;
    if (email) {
      session.customer_details = { ...(session.customer_details ?? {}), email };
      if (this.customer(customer).email !== email) this.updateCustomer(customer, { email });
    }
    const subscription = subscriptionObject({
      customer,
      price: session._price!,
      metadata: session._subscriptionMetadata ?? {},
      latestInvoice: '',
    });
    const invoice = invoiceObject(subscription, true);
    subscription.latest_invoice = invoice.id;
    this.subscriptions.set(subscription.id, subscription);
    Object.assign(session, { customer, status: 'complete', payment_status: 'paid', subscription: subscription.id, url: null });
    this.emit('customer.subscription.created', subscription);
    this.emit('invoice.paid', invoice);
    this.emit('checkout.session.completed', publicView(session));
    return publicView(session);
  }

  createPortalSession(params: StripeObject): StripeObject {
    if (!params.customer)
      throw new StripeApiError(400, 'invalid_request_error', 'Missing required param: customer.', 'parameter_missing', 'customer');
    this.customer(params.customer);
    const session = portalSessionObject(params.customer, params.return_url ?? null, '');
    session.url = `${this.baseUrl()}/portal/${session.id}`;
    this.portalSessions.set(session.id, session);
    return session;
  }

  portalSession(id: string): StripeObject {
    const session = this.portalSessions.get(id);
    if (!session) throw missing('billing_portal.session', id);
    return session;
  }

  /** The customer's subscriptions the portal manages: the live ones, newest first. */
  liveSubscriptionsOf(customer: string): StripeObject[] {
    return [...this.subscriptions.values()].filter((s) => s.customer === customer && LIVE.has(s.status)).reverse();
  }

  switchPlan(subscriptionId: string, priceId: string): void {
    const subscription = this.subscription(subscriptionId);
    const previous = { items: structuredClone(subscription.items) };
    setPrice(subscription, this.price(priceId, 'price'));
    this.emit('customer.subscription.updated', subscription, previous);
  }

  cancelAtPeriodEnd(subscriptionId: string): void {
    const subscription = this.subscription(subscriptionId);
    const previous = { cancel_at_period_end: subscription.cancel_at_period_end, cancel_at: subscription.cancel_at };
    Object.assign(subscription, {
      cancel_at_period_end: true,
      cancel_at: subscription.items.data[0].current_period_end,
      canceled_at: nowSeconds(),
    });
    this.emit('customer.subscription.updated', subscription, previous);
  }

  cancelNow(subscriptionId: string): void {
    const subscription = this.subscription(subscriptionId);
    const previous = { status: subscription.status };
    const now = nowSeconds();
    Object.assign(subscription, { status: 'canceled', canceled_at: subscription.canceled_at ?? now, ended_at: now });
    this.emit('customer.subscription.deleted', subscription, previous);
  }

  /** A renewal whose payment fails (Stripe retries it), or succeeds: the invoice event, then the status change. */
  settleRenewal(subscriptionId: string, paid: boolean): void {
    const subscription = this.subscription(subscriptionId);
    const invoice = invoiceObject(subscription, paid);
    subscription.latest_invoice = invoice.id;
    this.emit(paid ? 'invoice.paid' : 'invoice.payment_failed', invoice);
    const status = paid ? 'active' : 'past_due';
    if (subscription.status !== status) {
      const previous = { status: subscription.status };
      subscription.status = status;
      this.emit('customer.subscription.updated', subscription, previous);
    }
  }

  /** Test seam: sets a subscription's whole state, as if Stripe had reached it (no event). */
  putSubscription(object: StripeObject): void {
    this.subscriptions.delete(object.id);
    this.subscriptions.set(object.id, structuredClone(object));
  }
}

/** The session without the stand-in's private fields. */
function publicView(session: StripeObject): StripeObject {
  return Object.fromEntries(Object.entries(session).filter(([k]) => !k.startsWith('_')));
}
