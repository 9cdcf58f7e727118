import type { BillingApi, BillingClientOptions } from './api.js';
import {
  answerWhenUnreachable,
  type CachedAnswer,
  type Consumption,
  DEFAULT_GRACE_MS,
  type Entitlement,
  type EntitlementAnswer,
  hasChanged,
  isFresh,
  tokenState,
  type Usage,
} from './cache.js';
import { BillingError, serviceError, unreachableError } from './errors.js';

const KEYS = { identity: 'billing.identity', cache: 'billing.cache', entitlement: 'billing.entitlement' } as const;

interface Identity {
  userId: string;
  token: string;
  /** Set once the install verified an emailed code; its `userId` is then the account's. */
  email?: string;
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

const JSON_HEADERS = { 'content-type': 'application/json' };

/** The client that talks to the service: use it in the background service worker (or any extension page). */
export function createBillingClient(options: BillingClientOptions): BillingClient {
  const serverUrl = options.serverUrl.replace(/\/+$/, '');
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const storage = chrome.storage.local;

  const read = async <T>(key: string): Promise<T | undefined> => (await storage.get(key))[key] as T | undefined;

  async function register(): Promise<Identity> {
    const response = await fetch(`${serverUrl}/v1/users`, { method: 'POST' }).catch(() => {
      throw unreachableError();
    });
    if (response.status !== 201) throw await serviceError(response);
    const { userId, token } = (await response.json()) as Identity;
    const identity: Identity = { userId, token };
    await storage.set({ [KEYS.identity]: identity });
    return identity;
  }

  const identity = async (): Promise<Identity> => (await read<Identity>(KEYS.identity)) ?? (await register());

  async function token(): Promise<string> {
    if (options.getToken) return options.getToken();
    return (await identity()).token;
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

  /** Stores the answer; listeners hear it when it differs, or always with `broadcast` (the account changed). */
  async function publish(entitlement: Entitlement, broadcast = false): Promise<Entitlement> {
    const before = await read<Entitlement>(KEYS.entitlement);
    if (broadcast || hasChanged(before, entitlement)) await storage.set({ [KEYS.entitlement]: entitlement });
    return entitlement;
  }

  /** Asks the service and publishes its answer (the outage answer when it cannot); `fresh` is what it answered, if it did. */
  async function fetchAnswer(broadcast = false): Promise<{ entitlement: Entitlement; fresh?: CachedAnswer }> {
    const cached = await read<CachedAnswer>(KEYS.cache);
    const unreachable = async () => ({
      entitlement: await publish(
        answerWhenUnreachable(cached, Date.now(), graceMs, (await read<Identity>(KEYS.identity))?.userId ?? ''),
        broadcast,
      ),
    });
    let response: Response;
    try {
      response = await call('/v1/entitlements');
    } catch {
      return unreachable();
    }
    if (response.status >= 500) return unreachable();
    if (!response.ok) throw await serviceError(response);
    const { token, ...answer } = (await response.json()) as EntitlementAnswer & { token?: string };
    const fresh: CachedAnswer = { answer, fetchedAt: Date.now(), ...(token ? { token } : {}) };
    await storage.set({ [KEYS.cache]: fresh });
    return { entitlement: await publish({ ...answer, stale: false, checkedAt: fresh.fetchedAt }, broadcast), fresh };
  }

  const fetchEntitlement = async (broadcast = false): Promise<Entitlement> => (await fetchAnswer(broadcast)).entitlement;

  /** A feature's count changed: the kept answer and every open page get it without asking again. */
  async function rememberUsage(feature: string, usage: Usage): Promise<void> {
    const cached = await read<CachedAnswer>(KEYS.cache);
    if (cached)
      await storage.set({ [KEYS.cache]: { ...cached, answer: { ...cached.answer, usage: { ...cached.answer.usage, [feature]: usage } } } });
    const shown = await read<Entitlement>(KEYS.entitlement);
    if (shown) await publish({ ...shown, usage: { ...shown.usage, [feature]: usage } });
  }

  /** `/v1/usage/:feature`: the quota in the answer (remembered), or a `BillingError`; `counted` also takes a 402 refusal. */
  async function usageCall(feature: string, init: RequestInit, counted: boolean): Promise<Usage & { allowed?: boolean }> {
    const send = () => call(`/v1/usage/${encodeURIComponent(feature)}`, init);
    // A consumption carries its idempotency key, so sending it again after a lost answer counts once.
    let response: Response | undefined;
    for (let tries = counted ? 2 : 1; tries > 0 && !response; tries--) response = await send().catch(() => undefined);
    if (!response) throw unreachableError();
    if (response.status !== 200 && !(counted && response.status === 402)) throw await serviceError(response);
    const { error: _error, feature: _feature, allowed, ...usage } = (await response.json()) as Consumption & { error?: string };
    await rememberUsage(feature, usage);
    return allowed === undefined ? usage : { ...usage, allowed };
  }

  /** One of the `/v1/account/*` routes: its JSON answer, or a `BillingError` for any refusal. */
  async function accountCall<T>(path: string, body: object, expected: number): Promise<T> {
    if (options.getToken)
      throw new BillingError('not_available', 'Sign-in by emailed code is for anonymous installs; this extension uses its own sign-in.');
    const response = await call(path, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(body) }).catch((error: unknown) => {
      throw error instanceof BillingError ? error : unreachableError();
    });
    if (response.status !== expected) throw await serviceError(response);
    return (await response.json()) as T;
  }

  /**
   * The install acts for another user now: keep who, forget the other user's cached answer (an
   * outage must not serve it), ask again, and tell every open page even when nothing shown differs.
   */
  async function switchedTo(next: Identity): Promise<Entitlement> {
    await storage.set({ [KEYS.identity]: next });
    await storage.remove(KEYS.cache);
    return fetchEntitlement(true);
  }

  async function billingUrl(kind: 'checkout' | 'portal', priceId?: string): Promise<string> {
    const response = await call(`/v1/billing/${kind}`, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify(priceId ? { priceId } : {}),
    });
    if (!response.ok) throw await serviceError(response);
    const body = (await response.json().catch(() => null)) as { url?: string } | null;
    if (!body?.url) throw new BillingError('service_error', 'The billing service gave no page to open.', response.status);
    return body.url;
  }

  const client: BillingClient = {
    serverUrl,
    async ensureUser() {
      if (options.getToken) return { userId: (await read<CachedAnswer>(KEYS.cache))?.answer.userId ?? null, email: null };
      const { userId, email } = await identity();
      return { userId, email: email ?? null };
    },
    async getEntitlement({ maxAgeMs = 60_000 } = {}) {
      const cached = await read<CachedAnswer>(KEYS.cache);
      if (isFresh(cached, Date.now(), maxAgeMs)) return { ...cached.answer, stale: false, checkedAt: cached.fetchedAt };
      return fetchEntitlement();
    },
    onEntitlementChange,
    async getEntitlementToken() {
      const kept = await read<CachedAnswer>(KEYS.cache);
      if (tokenState(kept, Date.now()) === 'good') return kept!.token!;
      const { fresh } = await fetchAnswer();
      if (fresh?.token) return fresh.token;
      if (fresh) throw new BillingError('service_error', 'The billing service gave no entitlement token (it predates them).', 200);
      // Unreachable: the seller's backend can still verify the kept token offline, until it expires.
      if (tokenState(kept, Date.now()) !== 'expired') return kept!.token!;
      throw unreachableError();
    },
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
    async consume(feature, { amount = 1, idempotencyKey = crypto.randomUUID() } = {}) {
      const body = JSON.stringify({ amount, idempotencyKey });
      const { allowed, ...usage } = await usageCall(feature, { method: 'POST', headers: JSON_HEADERS, body }, true);
      return { allowed: allowed === true, feature, ...usage };
    },
    getUsage: (feature) => usageCall(feature, {}, false),
    async fetchPremium(path, init) {
      const response = await call(path, init);
      return { status: response.status, body: await response.json().catch(() => null) };
    },
    async requestCode(email) {
      await accountCall<{ sent: boolean }>('/v1/account/email', { email: email.trim() }, 202);
    },
    async verifyCode(email, code) {
      const linked = await accountCall<{ userId: string; email: string }>(
        '/v1/account/verify',
        { email: email.trim(), code: code.trim() },
        200,
      );
      return switchedTo({ ...(await identity()), userId: linked.userId, email: linked.email });
    },
    async signOut() {
      if (options.getToken) {
        // After the seller's own sign-out: forget the last user's answer and ask with whatever getToken gives now.
        await storage.remove(KEYS.cache);
        return fetchEntitlement(true);
      }
      const fresh = await accountCall<{ userId: string }>('/v1/account/signout', {}, 200);
      return switchedTo({ userId: fresh.userId, token: (await identity()).token });
    },
  };
  return client;
}
