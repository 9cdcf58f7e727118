import Stripe from 'stripe';
import type { StripeObject } from './objects.js';

export interface WebhookTarget {
  url: string;
  /** The endpoint's `whsec_` secret; deliveries are signed with it exactly as Stripe signs them. */
  secret: string;
}

/**
 * Delivers events to the service one at a time, in the order they happened, signed with
 * `Stripe.webhooks.generateTestHeaderString` over Stripe's pretty-printed JSON. A refused delivery
 * is retried a few times, as Stripe would (faster). With `enabled = false` events are dropped,
 * like deliveries to an endpoint that stays down: only backfill can recover them.
 */
export class WebhookSender {
  target: WebhookTarget | undefined;
  enabled = true;
  /** Every delivery attempt's answer, for tests and the stand-in's log. */
  readonly attempts: { eventId: string; status: number }[] = [];
  private queue: Promise<void> = Promise.resolve();

  send(event: StripeObject): void {
    if (!this.target || !this.enabled) return;
    this.queue = this.queue.then(() => this.deliverWithRetries(event));
  }

  /** Resolves once every queued delivery has been made. */
  flush(): Promise<void> {
    return this.queue;
  }

  /** One signed delivery of `event`, now; the service's HTTP status (0 when it could not be reached). */
  async deliver(event: StripeObject): Promise<number> {
    if (!this.target) throw new Error('no webhook target configured');
    const payload = JSON.stringify(event, null, 2);
    const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: this.target.secret });
    let status = 0;
    try {
      const response = await fetch(this.target.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'stripe-signature': header,
          'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        },
        body: payload,
        signal: AbortSignal.timeout(10_000),
      });
      await response.arrayBuffer();
      status = response.status;
    } catch {
      status = 0;
    }
    this.attempts.push({ eventId: event.id, status });
    return status;
  }

  private async deliverWithRetries(event: StripeObject): Promise<void> {
    for (let attempt = 0; attempt < 4; attempt++) {
      const status = await this.deliver(event);
      if (status >= 200 && status < 300) return;
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
    }
  }
}
