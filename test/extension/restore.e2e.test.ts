/// <reference types="chrome" />
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BillingStack, type ExtensionBrowser, launchWithExtension, startBillingStack, waitForPlan } from '../helpers/browser.js';
import type { RunningService } from '../helpers/service.js';
import { type SmtpCapture, startSmtpCapture } from '../helpers/smtp.js';

const SCREENSHOTS = new URL('../../test-results/screenshots/', import.meta.url).pathname;
const BUYER = 'buyer@example.test';

/**
 * Restore a purchase on any device, in Debian's Chromium: profile A pays through the Stripe
 * stand-in's Checkout with an email; profile B, a fresh install elsewhere, restores it from its
 * popup with the code the real service emails to a real SMTP server on loopback, and another page
 * open in B hears the change; B signs out and is a free anonymous install again.
 */
describe('restoring a purchase in another browser profile, by emailed code', () => {
  let stack: BillingStack;
  let capture: SmtpCapture;
  let svc: RunningService;
  let a: ExtensionBrowser;
  let b: ExtensionBrowser;
  let popupA: Page;
  let popupB: Page;
  /** Another page of B's extension, open the whole time, that nobody touches or reloads. */
  let otherB: Page;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    capture = await startSmtpCapture();
    stack = await startBillingStack({ email: { smtpUrl: capture.url, from: 'billing@example.test' } });
    svc = await stack.startBilling();
    [a, b] = await Promise.all([launchWithExtension(svc.baseUrl), launchWithExtension(svc.baseUrl)]);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await svc?.close();
    await capture?.close();
    await stack?.close();
  });

  /** What the service knows of a profile's install, asked with its token as the extension would. */
  async function serverView(browser: ExtensionBrowser): Promise<{ userId: string; premium: boolean; ping: number }> {
    const stored = await browser.worker.evaluate(() => chrome.storage.local.get('billing.identity'));
    const { token } = stored['billing.identity'] as { token: string };
    const headers = { authorization: `Bearer ${token}` };
    const entitlement = (await (await fetch(`${svc.baseUrl}/v1/entitlements`, { headers })).json()) as { userId: string; premium: boolean };
    const ping = (await fetch(`${svc.baseUrl}/v1/premium/ping`, { headers })).status;
    return { userId: entitlement.userId, premium: entitlement.premium, ping };
  }

  async function signedInAs(popup: Page, email: string | null): Promise<void> {
    if (email === null) {
      await popup.locator('#signed-in').waitFor({ state: 'hidden', timeout: 15_000 });
      await popup.locator('#restore').waitFor({ state: 'visible', timeout: 15_000 });
    } else {
      await popup.locator('#account-email').filter({ hasText: email }).waitFor({ timeout: 15_000 });
      await popup.locator('#restore').waitFor({ state: 'hidden', timeout: 15_000 });
    }
  }

  it('profile A pays at Checkout with its email: premium there', async () => {
    popupA = await a.openPopup();
    await waitForPlan(popupA, 'Free', { status: 'no subscription' });
    const [checkout] = await Promise.all([a.context.waitForEvent('page'), popupA.locator('#upgrade').click()]);
    await checkout.waitForLoadState();
    // The email the buyer types at Checkout: Stripe reports it as customer_details.email and the customer's email.
    await checkout.locator('#email').fill(BUYER);
    await Promise.all([checkout.waitForURL(`${svc.baseUrl}/billing/success**`), checkout.locator('#pay').click()]);
    await waitForPlan(popupA, 'Basic', { status: 'active' });
    await checkout.close();
    expect(await serverView(a)).toMatchObject({ premium: true, ping: 200 });
  });

  it('profile B, a fresh install, restores it from the popup with the emailed code; its other open page hears it', async () => {
    otherB = await b.openPopup();
    popupB = await b.openPopup();
    await popupB.bringToFront(); // the user's tab; otherB stays in the background
    for (const page of [popupB, otherB]) {
      await waitForPlan(page, 'Free', { status: 'no subscription' });
      await signedInAs(page, null);
    }
    const before = await serverView(b);
    const buyer = await serverView(a);
    expect(before).toMatchObject({ premium: false, ping: 402 });
    expect(before.userId).not.toBe(buyer.userId);

    await popupB.locator('#restore').click();
    await popupB.locator('#email').fill(BUYER);
    const sent = capture.countTo(BUYER);
    await popupB.locator('#send-code').click();
    await popupB.locator('#code-form').waitFor({ state: 'visible' });
    expect(await popupB.locator('#code-email').textContent()).toBe(BUYER);
    await popupB.screenshot({ path: `${SCREENSHOTS}6-code-sent.png`, fullPage: true });
    const code = await capture.waitForCode(BUYER, { after: sent });
    expect(capture.countTo(BUYER)).toBe(sent + 1);

    // A wrong code first: the popup says so, and nothing changes.
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    await popupB.locator('#code').fill(wrong);
    await popupB.locator('#verify').click();
    await popupB
      .locator('#account-error')
      .filter({ hasText: /wrong or has expired/ })
      .waitFor();
    await waitForPlan(popupB, 'Free');

    await popupB.locator('#code').fill(code);
    await popupB.locator('#verify').click();
    await waitForPlan(popupB, 'Basic', { status: 'active', period: /Renews/ });
    await signedInAs(popupB, BUYER);
    expect(await popupB.locator('#account-error').isHidden()).toBe(true);
    await popupB.screenshot({ path: `${SCREENSHOTS}7-restored.png`, fullPage: true });

    // The page B did not touch: onEntitlementChange brought the account's answer, no reload.
    await waitForPlan(otherB, 'Basic', { status: 'active' });
    await signedInAs(otherB, BUYER);
    expect(await otherB.locator('#premium-feature').isDisabled()).toBe(false);

    // The service agrees: B's token now acts for A's account.
    expect(await serverView(b)).toEqual({ userId: buyer.userId, premium: true, ping: 200 });
    await popupB.locator('#premium-feature').click();
    await popupB.locator('#feature-result').filter({ hasText: '✓ Premium feature ran' }).waitFor();
  });

  it('a used code does not open the account again', async () => {
    const code = await capture.waitForCode(BUYER);
    const stored = await b.worker.evaluate(() => chrome.storage.local.get('billing.identity'));
    const { token } = stored['billing.identity'] as { token: string };
    const again = await fetch(`${svc.baseUrl}/v1/account/verify`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: BUYER, code }),
    });
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: 'code_invalid' });
  });

  it('B signs out: a fresh free anonymous install again in every open page; A keeps its purchase', async () => {
    await popupB.locator('#sign-out').click();
    for (const page of [popupB, otherB]) {
      await waitForPlan(page, 'Free', { status: 'no subscription' });
      await signedInAs(page, null);
    }
    const after = await serverView(b);
    const buyer = await serverView(a);
    expect(after).toMatchObject({ premium: false, ping: 402 });
    expect(after.userId).not.toBe(buyer.userId);
    expect(buyer).toMatchObject({ premium: true, ping: 200 });
    await popupA.close();
    popupA = await a.openPopup();
    await waitForPlan(popupA, 'Basic', { status: 'active' });
  });
});
