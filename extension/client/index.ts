import {
  answerWhenUnreachable,
  type CachedAnswer,
  DEFAULT_GRACE_MS,
  type Entitlement,
  type EntitlementAnswer,
  hasChanged,
  isFresh,
} from './cache.js';

export type { Entitlement, EntitlementAnswer } from './cache.js';

/**
 * The extension half of the billing service, for Manifest V3.
 *
 * - In the background service worker: `createBillingClient({ serverUrl })`, then
 *   `installBillingBackground(client)` (refresh on a `chrome.alarms` schedule, notice the user's
 *   return from Checkout or the Customer Portal, answer the other contexts).
 * - In popups, options pages and content scripts: `connectBillingClient()`, the same API carried
 *   out by the background (content scripts cannot call the service themselves).
 *
 * Every context hears changes through `onEntitlementChange`: the background writes each new
 * answer to `chrome.storage.local`, whose change events reach every open page and content script.
 */

const KEYS = { identity: 'billing.identity', cache: 'billing.cache', entitlement: 'billing.entitlement' } as const;

export interface BillingClientOptions {
  /** The service's base URL, e.g. "https://billing.example.com" (its origin must be in `host_permissions`). */
  serverUrl: string;
  /** For sellers with their own sign-in: returns the user's JWT. Without it, one anonymous account per install. */
  getToken?: () => Promise<string>;
  /** How long the last known answer is served, marked stale, while the service is unreachable. Default 24 h. */
  graceMs?: number;
}

export interface BillingApi {
  /** Registers this install once (`POST /v1/users`) and keeps its token; returns the user id (unknown for JWT users until the first answer). */
  ensureUser(): Promise<{ userId: string | null }>;
  /** The entitlement, from the cache when younger than `maxAgeMs` (default 60 s), else from the service. */
  getEntitlement(options?: { maxAgeMs?: number }): Promise<Entitlement>;
  /** Called with every new answer, in this context; returns a function that stops listening. */
  onEntitlementChange(listener: (entitlement: Entitlement) => void): () => void;
  /** Opens Stripe Checkout in a tab; the answer refreshes as soon as the user comes back. */
  openCheckout(priceId?: string): Promise<void>;
  /** Opens the Stripe Customer Portal in a tab (plan changes, cancellation). */
  openPortal(): Promise<void>;
  /** Calls one of the service's premium routes with the user's token. */
  fetchPremium(path: string, init?: RequestInit): Promise<{ status: number; body: unknown }>;
}

interface Identity {
  userId: string;
  token: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`the billing service answered ${status}`);
  }
}

export function onEntitlementChange(listener: (entitlement: Entitlement) => void): () => void {
  const handler = (changes: Record<string, chrome.storage.StorageChange>, area: string) => {
    const change = changes[KEYS.entitlement];
    if (area === 'local' && change?.newValue) listener(change.newValue as Entitlement);
  };
  chrome.storage.onChanged.addListener(handler);
  return () => chrome.storage.onChanged.removeListener(handler);
}

export interface BillingClient extends BillingApi {
  readonly serverUrl: string;
  /** Opens a Checkout or Portal URL in a tab and returns the tab id (the background watches it). */
  openBillingPage(kind: 'checkout' | 'portal', priceId?: string): Promise<number | undefined>;
}

/** The client that talks to the service: use it in the background service worker (or any extension page). */
export function createBillingClient(options: BillingClientOptions): BillingClient {
  const serverUrl = options.serverUrl.replace(/\/+$/, '');
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const storage = chrome.storage.local;

  const read = async <T>(key: string): Promise<T | undefined> => (await storage.get(key))[key] as T | undefined;

  async function register(): Promise<Identity> {
    const response = await fetch(`${serverUrl}/v1/users`, { method: 'POST' });
    if (response.status !== 201) throw new HttpError(response.status, await response.json().catch(() => null));
    const identity = (await response.json()) as Identity;
    await storage.set({ [KEYS.identity]: identity });
    return identity;
  }

  async function token(): Promise<string> {
    if (options.getToken) return options.getToken();
    return ((await read<Identity>(KEYS.identity)) ?? (await register())).token;
  }

  /** Calls the service with the user's token; a 401 means the token is gone: register again once. */
  async function call(path: string, init: RequestInit = {}): Promise<Response> {
    const send = async () =>
      fetch(`${serverUrl}${path}`, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${await token()}` },
      });
    const response = await send();
    if (response.status !== 401 || options.getToken) return response;
    await storage.remove(KEYS.identity);
    return send();
  }

  async function publish(entitlement: Entitlement): Promise<Entitlement> {
    const before = await read<Entitlement>(KEYS.entitlement);
    if (hasChanged(before, entitlement)) await storage.set({ [KEYS.entitlement]: entitlement });
    return entitlement;
  }

  async function fetchEntitlement(): Promise<Entitlement> {
    const cached = await read<CachedAnswer>(KEYS.cache);
    let response: Response;
    try {
      response = await call('/v1/entitlements');
    } catch {
      return publish(answerWhenUnreachable(cached, Date.now(), graceMs, (await read<Identity>(KEYS.identity))?.userId ?? ''));
    }
    if (response.status >= 500)
      return publish(answerWhenUnreachable(cached, Date.now(), graceMs, (await read<Identity>(KEYS.identity))?.userId ?? ''));
    if (!response.ok) throw new HttpError(response.status, await response.json().catch(() => null));
    const answer = (await response.json()) as EntitlementAnswer;
    const fetchedAt = Date.now();
    await storage.set({ [KEYS.cache]: { answer, fetchedAt } satisfies CachedAnswer });
    return publish({ ...answer, stale: false, checkedAt: fetchedAt });
  }

  async function billingUrl(kind: 'checkout' | 'portal', priceId?: string): Promise<string> {
    const response = await call(`/v1/billing/${kind}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(priceId ? { priceId } : {}),
    });
    const body = (await response.json().catch(() => null)) as { url?: string } | null;
    if (!response.ok || !body?.url) throw new HttpError(response.status, body);
    return body.url;
  }

  const client: BillingClient = {
    serverUrl,
    async ensureUser() {
      if (options.getToken) return { userId: (await read<CachedAnswer>(KEYS.cache))?.answer.userId ?? null };
      return { userId: ((await read<Identity>(KEYS.identity)) ?? (await register())).userId };
    },
    async getEntitlement({ maxAgeMs = 60_000 } = {}) {
      const cached = await read<CachedAnswer>(KEYS.cache);
      if (isFresh(cached, Date.now(), maxAgeMs)) return { ...cached.answer, stale: false, checkedAt: cached.fetchedAt };
      return fetchEntitlement();
    },
    onEntitlementChange,
    async openBillingPage(kind, priceId) {
      const tab = await chrome.tabs.create({ url: await billingUrl(kind, priceId) });
      return tab.id;
    },
    async openCheckout(priceId) {
      await client.openBillingPage('checkout', priceId);
    },
    async openPortal() {
      await client.openBillingPage('portal');
    },
    async fetchPremium(path, init) {
      const response = await call(path, init);
      return { status: response.status, body: await response.json().catch(() => null) };
    },
  };
  return client;
}

type Message =
  | { type: 'billing:ensure-user' }
  | { type: 'billing:get'; maxAgeMs?: number }
  | { type: 'billing:checkout'; priceId?: string }
  | { type: 'billing:portal' }
  | { type: 'billing:fetch-premium'; path: string; init?: RequestInit };

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
        case 'billing:fetch-premium':
          return client.fetchPremium(message.path, message.init);
      }
    };
    work().then(
      (value) => respond({ ok: true, value }),
      (error: unknown) => respond({ ok: false, error: error instanceof Error ? error.message : String(error) }),
    );
    return true; // answered asynchronously
  });
}

/** The client for popups, options pages and content scripts: the background does the work. */
export function connectBillingClient(): BillingApi {
  async function ask<T>(message: Message): Promise<T> {
    const reply = (await chrome.runtime.sendMessage(message)) as { ok: boolean; value?: T; error?: string } | undefined;
    if (!reply) throw new Error('the extension background did not answer (is installBillingBackground called?)');
    if (!reply.ok) throw new Error(reply.error);
    return reply.value as T;
  }
  return {
    ensureUser: () => ask({ type: 'billing:ensure-user' }),
    getEntitlement: ({ maxAgeMs } = {}) => ask({ type: 'billing:get', maxAgeMs }),
    onEntitlementChange,
    openCheckout: (priceId) => ask({ type: 'billing:checkout', priceId }),
    openPortal: () => ask({ type: 'billing:portal' }),
    fetchPremium: (path, init) => ask({ type: 'billing:fetch-premium', path, init }),
  };
}
