import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Stripe from 'stripe';

/**
 * Realistic, unique Stripe events for the benchmark, shaped like Stripe's own example
 * subscription (test/fixtures/stripe/openapi-fixtures3.json), about 3 KB each.
 */

const FIXTURES = fileURLToPath(new URL('../test/fixtures/stripe/openapi-fixtures3.json', import.meta.url));

function exampleSubscription(): Record<string, any> {
  const subscription = structuredClone(JSON.parse(readFileSync(FIXTURES, 'utf8')).resources.subscription);
  // The example's legacy `plan` duplicates the price; real basil-era events carry it too, but it
  // would push the event to 4 KB. Without it the event is Stripe's typical ~3 KB.
  for (const item of subscription.items.data) delete item.plan;
  return subscription;
}

export interface BenchEvent {
  id: string;
  body: string;
}

export interface EventPlan {
  /** Run-unique prefix so that repeated runs never collide (intake must store every event). */
  prefix: string;
  subscriptions: number;
  eventsPerSubscription: number;
  /** Unix seconds of the first event; later updates of a subscription are one second apart. */
  firstCreated: number;
  /** Each subscription names its user in `metadata.user_id` (see `userIdOf`), as subscriptions created through Checkout do. */
  linkedUsers?: boolean;
}

/** The user named by subscription `s` of a plan with `linkedUsers`. */
export function userIdOf(plan: Pick<EventPlan, 'prefix'>, s: number): string {
  return `usr_${plan.prefix}${s.toString(36)}`;
}

const STATUSES = ['trialing', 'active', 'active', 'past_due', 'active', 'canceled'] as const;

/**
 * Events of many subscriptions in `created` order: each subscription's first event is
 * `created`, the rest `updated`, walking it through a realistic life cycle.
 */
export function buildEvents(plan: EventPlan): BenchEvent[] {
  const base = exampleSubscription();
  const events: BenchEvent[] = [];
  for (let step = 0; step < plan.eventsPerSubscription; step++) {
    for (let s = 0; s < plan.subscriptions; s++) {
      const subscriptionId = `sub_${plan.prefix}${s.toString(36)}`;
      const created = plan.firstCreated + step;
      const periodStart = plan.firstCreated - 86_400;
      const item = {
        ...base.items.data[0],
        id: `si_${plan.prefix}${s.toString(36)}`,
        subscription: subscriptionId,
        current_period_start: periodStart,
        current_period_end: periodStart + 30 * 86_400,
      };
      const object = {
        ...base,
        id: subscriptionId,
        customer: `cus_${plan.prefix}${s.toString(36)}`,
        status: STATUSES[step % STATUSES.length],
        items: { ...base.items, data: [item], url: `/v1/subscription_items?subscription=${subscriptionId}` },
        cancel_at: null,
        cancel_at_period_end: false,
        canceled_at: null,
        ended_at: null,
        trial_end: null,
        created: plan.firstCreated - 86_400,
        metadata: plan.linkedUsers ? { user_id: userIdOf(plan, s) } : {},
      };
      const id = `evt_${plan.prefix}${step.toString(36)}x${s.toString(36)}`;
      const event = {
        id,
        object: 'event',
        api_version: Stripe.API_VERSION,
        created,
        data: { object, ...(step > 0 ? { previous_attributes: { status: STATUSES[(step - 1) % STATUSES.length] } } : {}) },
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        type: step === 0 ? 'customer.subscription.created' : 'customer.subscription.updated',
      };
      // Compact: the ~3 KB size the brief asks for (Stripe itself pretty-prints, which only adds whitespace).
      events.push({ id, body: JSON.stringify(event) });
    }
  }
  return events;
}

export interface SignedDelivery {
  body: string;
  signature: string;
}

/** Signs every event now (Stripe's tolerance is 300 s, so sign right before sending). */
export function signAll(events: readonly BenchEvent[], secret: string): SignedDelivery[] {
  const timestamp = Math.floor(Date.now() / 1000);
  return events.map((e) => ({ body: e.body, signature: Stripe.webhooks.generateTestHeaderString({ payload: e.body, secret, timestamp }) }));
}
