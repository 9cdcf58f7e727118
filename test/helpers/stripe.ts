import { afterAll, beforeAll } from 'vitest';
import type { SyncMode } from '../../src/config/index.js';
import { StripeStandIn } from '../../tools/stripe-stand-in/server.js';
import { payCheckout } from '../../tools/stripe-stand-in/user.js';
import { BACKENDS, type TestDatabase } from './databases.js';
import { type RunningService, startService, TEST_SECRET } from './service.js';
import { billing } from './users.js';

export const TEST_STRIPE_KEY = 'sk_test_stand_in_key_for_the_suite';
const SYNC_MODES: SyncMode[] = ['payload', 'refetch'];

/** Every backend in both sync modes, for suites that must hold in each. */
export const SYNC_SETUPS = BACKENDS.flatMap((backend) => SYNC_MODES.map((syncMode) => ({ backend, syncMode, name: backend.name })));

export interface BillingContext {
  readonly svc: RunningService;
  readonly standIn: StripeStandIn;
  readonly database: TestDatabase;
}

/**
 * The Stripe stand-in and the real service using it through the real `stripe` client (the
 * stand-in's webhooks go to the service, signed with the suite's secret), for the enclosing
 * `describe`, on a fresh database of the backend.
 */
export function useBillingService(
  backend: { create(): Promise<TestDatabase> },
  options: Parameters<typeof startService>[1] & { syncMode?: SyncMode } = {},
): BillingContext {
  const context = {} as { svc: RunningService; standIn: StripeStandIn; database: TestDatabase };
  beforeAll(async () => {
    context.standIn = new StripeStandIn();
    await context.standIn.listen();
    context.database = await backend.create();
    context.svc = await startService(context.database, {
      ...options,
      config: {
        stripeSecretKey: TEST_STRIPE_KEY,
        stripeApiUrl: context.standIn.url,
        stripeTimeoutMs: 1000,
        syncMode: options.syncMode ?? 'refetch',
        ...options.config,
      },
    });
    context.standIn.setWebhookTarget({ url: `${context.svc.baseUrl}/webhooks/stripe`, secret: TEST_SECRET });
  });
  afterAll(async () => {
    await context.standIn?.close();
    await context.svc?.close();
    await context.database?.drop();
  });
  return context;
}

/** The browser following a redirect to the service: the configured URLs name a placeholder origin. */
export function onService(svc: RunningService, location: string): string {
  const url = new URL(location);
  return `${svc.baseUrl}${url.pathname}${url.search}`;
}

/** Every event the stand-in produced for one subscription, oldest first. */
export function eventsOf(standIn: StripeStandIn, subscriptionId: string) {
  return standIn.state.events.filter(
    (e) =>
      e.data.object.id === subscriptionId ||
      e.data.object.subscription === subscriptionId ||
      e.data.object.parent?.subscription_details?.subscription === subscriptionId,
  );
}

/**
 * The service in one sync mode, for suites that must hold in both. `publish` makes the stand-in
 * hold, for every subscription, the newest state among the events published so far: Stripe's
 * current state when those events are delivered, which is what a refetch reads. Publish events
 * before delivering them (payload mode ignores the stand-in).
 */
export function useSyncModeService(
  backend: { create(): Promise<TestDatabase> },
  syncMode: SyncMode,
  options: Parameters<typeof startService>[1] = {},
) {
  const context = useBillingService(backend, { ...options, syncMode });
  const newest = new Map<string, number>();
  return {
    get svc() {
      return context.svc;
    },
    publish(events: readonly { type: string; created: number; data: { object: any } }[]) {
      for (const event of events) {
        if (!event.type.startsWith('customer.subscription.')) continue;
        const { id } = event.data.object;
        if (event.created < (newest.get(id) ?? -Infinity)) continue;
        newest.set(id, event.created);
        context.standIn.state.putSubscription(event.data.object);
      }
    },
  };
}

/**
 * The user starts a Checkout and pays on the stand-in's hosted page (the browser does not come
 * back yet: `successUrl` is where Stripe sends it). Unless `webhooks: false` (they are lost), the
 * webhooks are delivered and applied before this returns.
 */
export async function payThroughCheckout(
  context: BillingContext,
  token: string,
  options: { priceId?: string; webhooks?: boolean } = {},
): Promise<{ subscriptionId: string; successUrl: string }> {
  const checkout = await billing(context.svc.baseUrl, token, 'checkout', options.priceId ? { priceId: options.priceId } : {});
  if (checkout.status !== 200) throw new Error(`checkout answered ${checkout.status}: ${JSON.stringify(checkout.body)}`);
  context.standIn.webhooks.enabled = options.webhooks ?? true;
  try {
    const successUrl = onService(context.svc, await payCheckout(checkout.body.url));
    await context.standIn.webhooks.flush();
    await context.svc.settle();
    return { subscriptionId: context.standIn.state.checkoutSession(checkout.body.url.split('/').at(-1)).subscription, successUrl };
  } finally {
    context.standIn.webhooks.enabled = true;
  }
}
