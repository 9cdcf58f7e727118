/// <reference types="chrome" />
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from '../helpers/databases.js';
import { type ExtensionBrowser, launchWithExtension } from '../helpers/browser.js';
import { deliverAll, newId, nowSeconds, subscriptionEvent } from '../helpers/events.js';
import { type RunningService, startService } from '../helpers/service.js';

export const SCREENSHOTS = new URL('../../test-results/screenshots/', import.meta.url).pathname;

/** The example extension in Debian's Chromium against the real service on loopback. */
describe('the example extension in Chromium', () => {
  let database: TestDatabase;
  let svc: RunningService;
  let port: number;
  let browser: ExtensionBrowser;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    database = await createSqliteDatabase();
    svc = await startService(database);
    port = Number(new URL(svc.baseUrl).port);
    browser = await launchWithExtension(svc.baseUrl);
  });
  afterAll(async () => {
    await browser?.close();
    await svc?.close();
    await database?.drop();
  });

  async function popupShowing(plan: string, options: { stale?: boolean } = {}): Promise<Page> {
    const page = await browser.openPopup();
    await page.locator('#plan').filter({ hasText: new RegExp(`^${plan}$`) }).waitFor({ timeout: 10_000 });
    await page.locator('#stale').waitFor({ state: options.stale ? 'visible' : 'hidden', timeout: 10_000 });
    return page;
  }

  async function identity(): Promise<{ userId: string; token: string }> {
    return (await browser.worker.evaluate(() => chrome.storage.local.get('billing.identity')))['billing.identity'] as { userId: string; token: string };
  }

  it('loads with the id its manifest key fixes (the one docs/extension.md gives for EXTENSION_ORIGINS)', () => {
    const manifest = JSON.parse(readFileSync(new URL('../../extension/example/manifest.json', import.meta.url), 'utf8'));
    const digest = createHash('sha256').update(Buffer.from(manifest.key, 'base64')).digest('hex').slice(0, 32);
    const expected = [...digest].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join('');
    expect(browser.extensionId).toBe(expected);
    expect(readFileSync(new URL('../../docs/extension.md', import.meta.url), 'utf8')).toContain(`chrome-extension://${expected}`);
  });

  it('fresh install: the popup shows the free plan and the premium feature is refused', async () => {
    const page = await popupShowing('Free');
    expect(await page.locator('#status').textContent()).toBe('no subscription');
    expect(await page.locator('#premium-feature').isDisabled()).toBe(true);
    expect(await page.locator('#upgrade').isVisible()).toBe(true);
    await page.screenshot({ path: `${SCREENSHOTS}1-free.png` });
    // The server refuses it too: the extension's own check could be patched out.
    const { token } = await identity();
    const ping = await fetch(`${svc.baseUrl}/v1/premium/ping`, { headers: { authorization: `Bearer ${token}` } });
    expect(ping.status).toBe(402);
    await page.close();
  });

  it('premium once Stripe says so; the premium feature works', async () => {
    const event = subscriptionEvent('created', { id: newId('sub'), customer: newId('cus'), status: 'active', priceId: 'price_pro', userId: (await identity()).userId }, nowSeconds());
    await deliverAll(svc.baseUrl, [event]);
    await svc.settle();
    const page = await popupShowing('Pro');
    expect(await page.locator('#status').textContent()).toBe('active');
    await page.locator('#premium-feature').click();
    await page.locator('#feature-result').filter({ hasText: '✓ Premium feature ran' }).waitFor();
    await page.screenshot({ path: `${SCREENSHOTS}2-premium.png` });
    await page.close();
  });

  it('service stopped: the popup keeps the last answer marked stale; restarted, it recovers', async () => {
    await svc.close();
    const stale = await popupShowing('Pro', { stale: true });
    expect(await stale.locator('#premium-feature').isDisabled()).toBe(false);
    await stale.screenshot({ path: `${SCREENSHOTS}5-offline.png` });
    await stale.close();

    svc = await startService(database, { port });
    const recovered = await popupShowing('Pro', { stale: false });
    expect(await recovered.locator('#status').textContent()).toBe('active');
    await recovered.close();
  });
});
