/// <reference types="chrome" />
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CachedAnswer } from '../../extension/client/cache.js';
import { EntitlementTokenError, JwksUnavailableError, verifyEntitlement } from '../../packages/verify-entitlement/index.js';
import { type BillingStack, type ExtensionBrowser, launchWithExtension, startBillingStack, waitForPlan } from '../helpers/browser.js';
import { type RunningService, TEST_ISSUER } from '../helpers/service.js';

const SCREENSHOTS = new URL('../../test-results/screenshots/', import.meta.url).pathname;
const JWKS_ROUTE = '/.well-known/jwks.json';

/** A seller's own backend: one premium route that verifies the entitlement token offline, on a clock the test can move. */
interface SellerBackend {
  url: string;
  requests: number;
  /** Added to the real clock when checking `exp`. */
  offsetMs: number;
  /** The `exp` of the last token it verified. */
  lastExp: number | null;
  close(): Promise<void>;
}

async function startSellerBackend(jwksUrl: string): Promise<SellerBackend> {
  const server = createServer(async (request, response) => {
    const send = (status: number, body: object) =>
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (request.method !== 'GET' || request.url !== '/premium') return send(404, { error: 'not_found' });
    seller.requests++;
    const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (!token) return send(401, { error: 'missing_token' });
    try {
      const claims = await verifyEntitlement(token, { jwksUrl, issuer: TEST_ISSUER, currentDate: new Date(Date.now() + seller.offsetMs) });
      seller.lastExp = claims.exp;
      if (!claims.premium) return send(402, { premium: false, reason: claims.reason });
      return send(200, { premium: true, userId: claims.sub, priceId: claims.priceId, features: claims.features });
    } catch (error) {
      if (error instanceof JwksUnavailableError) return send(503, { error: error.code });
      return error instanceof EntitlementTokenError ? send(401, { error: error.code }) : send(500, { error: 'internal' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const seller: SellerBackend = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: 0,
    offsetMs: 0,
    lastExp: null,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return seller;
}

/**
 * The seller's own backend, called by the example extension in Debian's Chromium with the
 * entitlement token the client keeps: the backend verifies it offline with the verifier package
 * (packages/verify-entitlement) against the real service's JWKS, so it asks the service nothing
 * per call, and keeps answering while the service is down, until the token expires.
 */
describe('the extension calls the seller backend with the entitlement token', () => {
  let stack: BillingStack;
  let svc: RunningService;
  let seller: SellerBackend;
  let browser: ExtensionBrowser;
  let popup: Page;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    stack = await startBillingStack();
    svc = await stack.startBilling();
    seller = await startSellerBackend(`${svc.baseUrl}${JWKS_ROUTE}`);
    browser = await launchWithExtension(svc.baseUrl, { sellerUrl: `${seller.url}/premium` });
    popup = await browser.openPopup();
  });
  afterAll(async () => {
    await browser?.close();
    await svc?.close();
    await seller?.close();
    await stack?.close();
  });

  /** The requests the (current) billing service answered on this route. */
  const served = (route: string) => svc.logs.filter((line) => line.method === 'GET' && line.route === route).length;

  /** Clicks "Ask my backend" and returns what the popup shows of the answer. */
  async function askBackend(): Promise<string> {
    await popup.evaluate(() => (document.getElementById('backend-result')!.textContent = ''));
    await popup.locator('#call-backend').click();
    await popup.locator('#backend-result').filter({ hasText: /\S/ }).waitFor({ timeout: 15_000 });
    return (await popup.locator('#backend-result').textContent()) ?? '';
  }

  /**
   * Makes the kept token older by `ms` as the client counts it (its lifetime runs from when the
   * answer arrived: `fetchedAt`), which is the extension's clock moving on by `ms`.
   */
  async function ageKeptToken(ms: number): Promise<void> {
    await browser.worker.evaluate(async (by) => {
      const cached = (await chrome.storage.local.get('billing.cache'))['billing.cache'] as { fetchedAt: number };
      await chrome.storage.local.set({ 'billing.cache': { ...cached, fetchedAt: cached.fetchedAt - by } });
    }, ms);
  }

  async function keptToken(): Promise<{ fetchedAt: number; iat: number; exp: number }> {
    const cached = (await browser.worker.evaluate(() => chrome.storage.local.get('billing.cache')))['billing.cache'] as CachedAnswer;
    const { iat, exp } = JSON.parse(Buffer.from(cached.token!.split('.')[1]!, 'base64url').toString());
    return { fetchedAt: cached.fetchedAt, iat, exp };
  }

  it('a free install: the backend verifies the token and answers 402', async () => {
    await waitForPlan(popup, 'Free', { status: 'no subscription' });
    expect(await askBackend()).toBe('Your backend: premium required');
    expect(seller.requests).toBe(1);
  });

  it('after Checkout: premium from the backend, with no call to the billing service but the one JWKS fetch', async () => {
    const [checkout] = await Promise.all([browser.context.waitForEvent('page'), popup.locator('#upgrade').click()]);
    await checkout.waitForLoadState();
    await Promise.all([checkout.waitForURL(`${svc.baseUrl}/billing/success**`), checkout.locator('#pay').click()]);
    await waitForPlan(popup, 'Basic', { status: 'active' });
    await checkout.close();

    // The answer that turned the popup premium brought a premium token with it.
    const entitlementsBefore = served('/v1/entitlements');
    const requestsBefore = seller.requests;
    for (let i = 0; i < 3; i++) expect(await askBackend()).toBe('✓ Your backend: premium (Basic)');
    expect(seller.requests).toBe(requestsBefore + 3);
    expect(served('/v1/entitlements')).toBe(entitlementsBefore);
    expect(served(JWKS_ROUTE)).toBe(1); // the backend's first verification, back when the user was free
    await popup.screenshot({ path: `${SCREENSHOTS}8-seller-backend.png`, fullPage: true });
  });

  it('the billing service is stopped: the backend keeps answering premium, even once the client would renew the token', async () => {
    await svc.close();
    expect(await askBackend()).toBe('✓ Your backend: premium (Basic)');

    // Within the refresh margin: the client tries to renew, cannot, and sends the kept token.
    const { fetchedAt, iat, exp } = await keptToken();
    await ageKeptToken(Date.now() - fetchedAt + (exp - iat) * 1000 - 30_000);
    const requestsBefore = seller.requests;
    expect(await askBackend()).toBe('✓ Your backend: premium (Basic)');
    expect(seller.requests).toBe(requestsBefore + 1);
  });

  it("past the token's exp on the backend's clock: it refuses the token as expired, and the popup says so", async () => {
    const { exp } = await keptToken();
    expect(seller.lastExp).toBe(exp);
    seller.offsetMs = exp * 1000 - Date.now() + 1000;
    expect(await askBackend()).toBe('Your backend refused the token: expired');
  });

  it("past exp on the extension's clock too: with the service still down there is no token to send", async () => {
    await ageKeptToken(60_000);
    const requestsBefore = seller.requests;
    expect(await askBackend()).toBe('The billing service could not be reached. Check the connection and try again.');
    expect(seller.requests).toBe(requestsBefore);
  });

  it('the billing service is back: the client fetches a new token, and the backend answers premium with its cached keys', async () => {
    svc = await stack.startBilling();
    seller.offsetMs = 0;
    expect(await askBackend()).toBe('✓ Your backend: premium (Basic)');
    expect(served('/v1/entitlements')).toBe(1);
    expect(served(JWKS_ROUTE)).toBe(0);
    const renewed = await keptToken();
    expect(seller.lastExp).toBe(renewed.exp);
    expect(Date.now() - renewed.fetchedAt).toBeLessThan(60_000);
  });
});
