import type { BillingApi } from './api.js';
import { type Entitlement, hasChanged } from './cache.js';
import { type BillingClient, onEntitlementChange } from './client.js';
import { BillingError } from './errors.js';

type Message =
  | { type: 'billing:ensure-user' }
  | { type: 'billing:get'; maxAgeMs?: number }
  | { type: 'billing:entitlement-token' }
  | { type: 'billing:checkout'; priceId?: string }
  | { type: 'billing:portal' }
  | { type: 'billing:consume'; feature: string; options?: { amount?: number; idempotencyKey?: string } }
  | { type: 'billing:get-usage'; feature: string }
  | { type: 'billing:fetch-premium'; path: string; init?: RequestInit }
  | { type: 'billing:request-code'; email: string }
  | { type: 'billing:verify-code'; email: string; code: string }
  | { type: 'billing:sign-out' };

/** The background's answer to a page; a `BillingError` travels as its data, so that the page gets it typed. */
type Reply<T> = { ok: true; value: T } | { ok: false; error: string; billingError?: ReturnType<BillingError['toData']> };

export interface BackgroundOptions {
  /** How often the entitlement is refreshed by `chrome.alarms`. Default 15 minutes. */
  refreshMinutes?: number;
  /** After the user comes back from Checkout or the Portal, how long to poll for the change (webhooks can be late). */
  pollAfterReturnMs?: number;
  pollIntervalMs?: number;
}

/**
 * Makes the background service worker the one place that talks to the service: scheduled
 * refreshes, the other contexts' requests, and a refresh (then brief polling) as soon as the user
 * returns from Checkout or the Portal (the service's /billing/ pages load in the tab, or the tab
 * closes), so premium shows within seconds of payment even when the webhook is late.
 */
export function installBillingBackground(client: BillingClient, options: BackgroundOptions = {}): void {
  // Checkout and Portal tabs opened from here, with the answer the user had when opening them.
  const watched = new Map<number, Entitlement | undefined>();
  const refresh = () => client.getEntitlement({ maxAgeMs: 0 }).catch(() => undefined);

  /** Refreshes at once, then polls until the answer differs from the one before the tab opened. */
  async function pollAfterReturn(before: Entitlement | undefined): Promise<void> {
    const deadline = Date.now() + (options.pollAfterReturnMs ?? 30_000);
    for (;;) {
      const now = await refresh();
      if (now && (!before || hasChanged(before, now))) return;
      if (Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, options.pollIntervalMs ?? 1500));
    }
  }

  const returned = (tabId: number) => {
    if (!watched.has(tabId)) return;
    const before = watched.get(tabId);
    watched.delete(tabId);
    void pollAfterReturn(before);
  };
  chrome.tabs.onUpdated.addListener((tabId, change) => {
    if (change.url?.startsWith(`${client.serverUrl}/billing/`)) returned(tabId);
  });
  chrome.tabs.onRemoved.addListener(returned);

  chrome.alarms.create('billing-refresh', { periodInMinutes: options.refreshMinutes ?? 15 });
  chrome.alarms.onAlarm.addListener((alarm) => {
    if (alarm.name === 'billing-refresh') void refresh();
  });

  chrome.runtime.onMessage.addListener((message: Message, _sender, respond) => {
    if (typeof message?.type !== 'string' || !message.type.startsWith('billing:')) return false;
    const work = async (): Promise<unknown> => {
      switch (message.type) {
        case 'billing:ensure-user':
          return client.ensureUser();
        case 'billing:get':
          return client.getEntitlement({ maxAgeMs: message.maxAgeMs });
        case 'billing:entitlement-token':
          return client.getEntitlementToken();
        case 'billing:checkout':
        case 'billing:portal': {
          const before = await client.getEntitlement().catch(() => undefined);
          const tabId = await client.openBillingPage(
            message.type === 'billing:checkout' ? 'checkout' : 'portal',
            'priceId' in message ? message.priceId : undefined,
          );
          if (tabId !== undefined) watched.set(tabId, before);
          return null;
        }
        case 'billing:consume':
          return client.consume(message.feature, message.options);
        case 'billing:get-usage':
          return client.getUsage(message.feature);
        case 'billing:fetch-premium':
          return client.fetchPremium(message.path, message.init);
        case 'billing:request-code':
          return client.requestCode(message.email);
        case 'billing:verify-code':
          return client.verifyCode(message.email, message.code);
        case 'billing:sign-out':
          return client.signOut();
      }
    };
    work().then(
      (value) => respond({ ok: true, value } satisfies Reply<unknown>),
      (error: unknown) =>
        respond({
          ok: false,
          error: error instanceof Error ? error.message : String(error),
          ...(error instanceof BillingError ? { billingError: error.toData() } : {}),
        } satisfies Reply<unknown>),
    );
    return true; // answered asynchronously
  });
}

/** The client for popups, options pages and content scripts: the background does the work. */
export function connectBillingClient(): BillingApi {
  async function ask<T>(message: Message): Promise<T> {
    const reply = (await chrome.runtime.sendMessage(message)) as Reply<T> | undefined;
    if (!reply) throw new Error('the extension background did not answer (is installBillingBackground called?)');
    if (reply.ok) return reply.value;
    throw reply.billingError ? BillingError.fromData(reply.billingError) : new Error(reply.error);
  }
  return {
    ensureUser: () => ask({ type: 'billing:ensure-user' }),
    getEntitlement: ({ maxAgeMs } = {}) => ask({ type: 'billing:get', maxAgeMs }),
    onEntitlementChange,
    getEntitlementToken: () => ask({ type: 'billing:entitlement-token' }),
    openCheckout: (priceId) => ask({ type: 'billing:checkout', priceId }),
    openPortal: () => ask({ type: 'billing:portal' }),
    consume: (feature, options) => ask({ type: 'billing:consume', feature, options }),
    getUsage: (feature) => ask({ type: 'billing:get-usage', feature }),
    fetchPremium: (path, init) => ask({ type: 'billing:fetch-premium', path, init }),
    requestCode: (email) => ask({ type: 'billing:request-code', email }),
    verifyCode: (email, code) => ask({ type: 'billing:verify-code', email, code }),
    signOut: () => ask({ type: 'billing:sign-out' }),
  };
}
