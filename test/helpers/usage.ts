import { checkoutCompletedEvent, deliverAll, newId, nowSeconds, subscriptionEvent } from './events.js';

/** Usage quotas over real HTTP, as the extension calls them: against any base URL (an in-process service or a spawned one). */

export interface UsageAnswer {
  status: number;
  body: any;
}

/** `POST /v1/usage/:feature` with the user's bearer token. */
export async function consumeUsage(baseUrl: string, token: string, feature: string, body: unknown = {}): Promise<UsageAnswer> {
  const response = await fetch(`${baseUrl}/v1/usage/${feature}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** `GET /v1/usage/:feature`. */
export async function readUsage(baseUrl: string, token: string, feature: string): Promise<UsageAnswer> {
  const response = await fetch(`${baseUrl}/v1/usage/${feature}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.json() };
}

/** A plan a user can be moved to: a price and its product, or null for the free plan (no granting subscription). */
export type PlanChoice = { priceId: string; productId: string; periodStart?: number; periodEnd?: number } | null;

/**
 * One user's Stripe subscription as a test drives it with signed deliveries: `moveTo` subscribes
 * (a checkout and a new subscription), changes the price of the current one, or cancels it.
 * Events are created one second apart, so they apply in the order they were sent.
 */
export class SubscriptionDriver {
  private readonly customer = newId('cus');
  private subscription: string | null = null;
  private created = nowSeconds() - 86_400;

  constructor(private readonly userId: string) {}

  async moveTo(baseUrl: string, plan: PlanChoice): Promise<void> {
    if (plan === null) {
      if (this.subscription === null) return;
      const id = this.subscription;
      this.subscription = null;
      await deliverAll(baseUrl, [subscriptionEvent('deleted', { id, customer: this.customer, status: 'canceled' }, ++this.created)]);
      return;
    }
    const events = [];
    if (this.subscription === null) {
      this.subscription = newId('sub');
      events.push(
        checkoutCompletedEvent({ customer: this.customer, userId: this.userId, subscription: this.subscription, created: ++this.created }),
      );
    }
    const spec = { id: this.subscription, customer: this.customer, status: 'active', ...plan };
    events.push(subscriptionEvent(events.length > 0 ? 'created' : 'updated', spec, ++this.created));
    await deliverAll(baseUrl, events);
  }
}
