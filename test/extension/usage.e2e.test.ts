/// <reference types="chrome" />
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StripeStandIn } from '../../tools/stripe-stand-in/server.js';
import { type BillingStack, type ExtensionBrowser, launchWithExtension, startBillingStack, waitForPlan } from '../helpers/browser.js';
import type { RunningService } from '../helpers/service.js';
import { readUsage } from '../helpers/usage.js';

const SCREENSHOTS = new URL('../../test-results/screenshots/', import.meta.url).pathname;
const LIMITS = { summarize: { free: { limit: 5, per: 'day' as const }, price_basic: { limit: 500, per: 'month' as const } } };

/**
 * The example popup's quota-limited feature in Debian's Chromium, against the real service with
 * `USAGE_LIMITS` and the Stripe stand-in: the free uses run out, the refusal offers the upgrade,
 * paying raises the limit at once, and what was used stays counted.
 */
describe('usage quotas in the example extension', () => {
  let stack: BillingStack;
  let standIn: StripeStandIn;
  let svc: RunningService;
  let browser: ExtensionBrowser;
  let popup: Page;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    stack = await startBillingStack({ usageLimits: LIMITS });
    standIn = stack.standIn;
    svc = await stack.startBilling();
    browser = await launchWithExtension(svc.baseUrl);
    popup = await browser.openPopup();
    await popup.setViewportSize({ width: 330, height: 420 });
  });
  afterAll(async () => {
    await browser?.close();
    await svc?.close();
    await stack?.close();
  });

  const quotaShows = (text: string) =>
    popup
      .locator('#quota')
      .filter({ hasText: new RegExp(`^${text}$`) })
      .waitFor({ timeout: 15_000 });

  /** Clicks Summarize and returns what the popup says about it. */
  async function summarize(): Promise<string> {
    await popup.locator('#summarize').click();
    const result = popup.locator('#summarize-result');
    await result.filter({ hasText: /\S/ }).waitFor();
    return (await result.textContent()) ?? '';
  }

  /** What the service itself has counted for this install, whatever the popup shows. */
  async function counted(): Promise<unknown> {
    const { token } = (await browser.worker.evaluate(() => chrome.storage.local.get('billing.identity')))['billing.identity'] as {
      token: string;
    };
    return (await readUsage(svc.baseUrl, token, 'summarize')).body;
  }

  it('the free plan shows what is left today, and each use counts one', async () => {
    await waitForPlan(popup, 'Free');
    await quotaShows('5 of 5 left today');
    for (let left = 4; left >= 0; left--) {
      expect(await summarize()).toBe('✓ Summarized');
      await quotaShows(`${left} of 5 left today`);
    }
    expect(await popup.locator('#quota-upgrade').isHidden()).toBe(true);
    expect(await counted()).toMatchObject({ used: 5, limit: 5, remaining: 0, per: 'day' });
  });

  it('the 6th use is refused, counts nothing, and offers the upgrade', async () => {
    expect(await summarize()).toBe('Your 5 free summaries today are used up');
    await popup.locator('#quota-upgrade').waitFor({ state: 'visible' });
    expect(await popup.locator('#quota-upgrade-text').textContent()).toMatch(/^More from \w{3} \d{1,2}, \d{4}, or now with an upgrade\.$/);
    await quotaShows('0 of 5 left today');
    expect(await counted()).toMatchObject({ used: 5, remaining: 0 });
    await popup.screenshot({ path: `${SCREENSHOTS}9-quota-used-up.png`, fullPage: true });
  });

  it('paying from the prompt raises the limit at once; what was used today stays counted', async () => {
    const [checkout] = await Promise.all([browser.context.waitForEvent('page'), popup.locator('#quota-upgrade-button').click()]);
    await checkout.waitForLoadState();
    expect(checkout.url()).toContain(`${standIn.url}/checkout/`);
    await Promise.all([checkout.waitForURL(`${svc.baseUrl}/billing/success**`), checkout.locator('#pay').click()]);
    await waitForPlan(popup, 'Basic', { status: 'active' });
    await quotaShows('495 of 500 left this month');
    expect(await popup.locator('#quota-upgrade').isHidden()).toBe(true);
    await checkout.close();

    await popup.evaluate(() => (document.getElementById('summarize-result')!.textContent = ''));
    expect(await summarize()).toBe('✓ Summarized');
    await quotaShows('494 of 500 left this month');
    expect(await counted()).toMatchObject({ used: 6, limit: 500, remaining: 494, per: 'month' });
    await popup.screenshot({ path: `${SCREENSHOTS}10-quota-upgraded.png`, fullPage: true });
  });
});
