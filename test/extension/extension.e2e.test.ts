/// <reference types="chrome" />
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StripeStandIn } from '../../tools/stripe-stand-in/server.js';
import { type BillingStack, type ExtensionBrowser, launchWithExtension, startBillingStack, waitForPlan } from '../helpers/browser.js';
import type { RunningService } from '../helpers/service.js';

const SCREENSHOTS = new URL('../../test-results/screenshots/', import.meta.url).pathname;

/**
 * The example extension in Debian's Chromium, against the real service and the Stripe stand-in
 * on loopback, played as a user would: popup, Checkout, Customer Portal, an outage.
 */
describe('the example extension in Chromium', () => {
  let stack: BillingStack;
  let standIn: StripeStandIn;
  let svc: RunningService;
  let browser: ExtensionBrowser;
  let popup: Page;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    stack = await startBillingStack();
    standIn = stack.standIn;
    svc = await stack.startBilling();
    browser = await launchWithExtension(svc.baseUrl);
    popup = await browser.openPopup();
  });
  afterAll(async () => {
    await browser?.close();
    await svc?.close();
    await stack?.close();
  });

  const shows = (plan: string, extra?: Parameters<typeof waitForPlan>[2]) => waitForPlan(popup, plan, extra);

  async function reopenPopup() {
    await popup.close();
    popup = await browser.openPopup();
  }

  async function screenshot(name: string) {
    await popup.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
  }

  /** Clicks a popup button that opens a Stripe page in a new tab, and returns that tab. */
  async function opensTab(button: string): Promise<Page> {
    const [tab] = await Promise.all([browser.context.waitForEvent('page'), popup.locator(button).click()]);
    await tab.waitForLoadState();
    return tab;
  }

  /** The premium feature as the popup runs it (its button must be enabled). */
  async function runPremiumFeature(): Promise<string> {
    await popup.locator('#premium-feature').click();
    await popup.locator('#feature-result').filter({ hasText: /\S/ }).waitFor();
    const text = (await popup.locator('#feature-result').textContent()) ?? '';
    await popup.evaluate(() => (document.getElementById('feature-result')!.textContent = ''));
    return text;
  }

  /** What the server answers the premium route with this install's token, whatever the popup shows. */
  async function serverPremiumStatus(): Promise<number> {
    const { token } = (await browser.worker.evaluate(() => chrome.storage.local.get('billing.identity')))['billing.identity'] as {
      token: string;
    };
    return (await fetch(`${svc.baseUrl}/v1/premium/ping`, { headers: { authorization: `Bearer ${token}` } })).status;
  }

  it('loads with the id its manifest key fixes (the one docs/extension.md gives for EXTENSION_ORIGINS)', () => {
    const manifest = JSON.parse(readFileSync(new URL('../../extension/example/manifest.json', import.meta.url), 'utf8'));
    const digest = createHash('sha256').update(Buffer.from(manifest.key, 'base64')).digest('hex').slice(0, 32);
    const expected = [...digest].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join('');
    expect(browser.extensionId).toBe(expected);
    expect(readFileSync(new URL('../../docs/extension.md', import.meta.url), 'utf8')).toContain(`chrome-extension://${expected}`);
  });

  it('1. fresh install: the popup shows the free plan, and the premium feature is refused', async () => {
    await shows('Free', { status: 'no subscription' });
    expect(await popup.locator('#premium-feature').isDisabled()).toBe(true);
    expect(await popup.locator('#upgrade').isVisible()).toBe(true);
    await screenshot('1-free');
    // Enforced by the server too: the extension's own check could be patched out.
    expect(await serverPremiumStatus()).toBe(402);
  });

  it('2. Upgrade opens Checkout; paying makes the popup show premium without a reload, and the feature works', async () => {
    const checkout = await opensTab('#upgrade');
    expect(checkout.url()).toContain(`${standIn.url}/checkout/`);
    await Promise.all([checkout.waitForURL(`${svc.baseUrl}/billing/success**`), checkout.locator('#pay').click()]);
    await shows('Basic', { status: 'active', period: /Renews/ });
    expect(await runPremiumFeature()).toBe('✓ Premium feature ran');
    await screenshot('2-premium');
    await checkout.close();
  });

  it('3. the Customer Portal: an upgrade changes the plan, a cancellation at period end shows the end date, an immediate one ends premium', async () => {
    const upgrade = await opensTab('#manage');
    expect(upgrade.url()).toContain(`${standIn.url}/portal/`);
    await upgrade.locator('#switch-price_pro').click();
    await upgrade.waitForLoadState();
    await Promise.all([upgrade.waitForURL(`${svc.baseUrl}/billing/done**`), upgrade.locator('#return').click()]);
    await shows('Pro', { status: 'active', period: /Renews/ });
    await screenshot('3-upgraded');
    await upgrade.close();

    const cancelLater = await opensTab('#manage');
    await cancelLater.locator('#cancel-at-period-end').click();
    await cancelLater.waitForLoadState();
    await Promise.all([cancelLater.waitForURL(`${svc.baseUrl}/billing/done**`), cancelLater.locator('#return').click()]);
    await shows('Pro', { status: 'active', period: /Ends/ });
    expect(await popup.locator('#period').textContent()).toMatch(/\w{3} \d{1,2}, \d{4}/);
    await screenshot('4-ends');
    await cancelLater.close();

    const cancelNow = await opensTab('#manage');
    await cancelNow.locator('#cancel-now').click();
    await cancelNow.waitForLoadState();
    await cancelNow.close(); // closing the tab also counts as coming back
    await shows('Free', { status: 'canceled' });
    expect(await popup.locator('#premium-feature').isDisabled()).toBe(true);
    expect(await serverPremiumStatus()).toBe(402);
  });

  it('4. the service is stopped: the popup keeps the last answer, marked stale; restarted, it recovers', async () => {
    // Back to premium first, so that the remembered answer matters.
    // Subscribing again minutes after cancelling gets a new Checkout, not the completed one.
    const checkout = await opensTab('#upgrade');
    await Promise.all([checkout.waitForURL(`${svc.baseUrl}/billing/success**`), checkout.locator('#pay').click()]);
    await shows('Basic', { status: 'active' });
    await checkout.close();

    await svc.close();
    await reopenPopup();
    await shows('Basic', { status: 'active', stale: true });
    await screenshot('5-offline');

    svc = await stack.startBilling();
    await reopenPopup();
    await shows('Basic', { status: 'active', stale: false });
  });
});
