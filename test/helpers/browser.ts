import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page, type Worker } from 'playwright-core';
import { buildExtension } from '../../extension/build.js';
import type { ServiceConfig } from '../../src/server.js';
import { freePort } from '../../tools/free-port.js';
import { StripeStandIn } from '../../tools/stripe-stand-in/server.js';
import { createSqliteDatabase } from './databases.js';
import { type RunningService, startService, TEST_SECRET } from './service.js';
import { TEST_STRIPE_KEY } from './stripe.js';

/** Debian's Chromium with the example extension built for `serverUrl` (and a seller backend), as a user would load it. */
export interface ExtensionBrowser {
  context: BrowserContext;
  extensionId: string;
  worker: Worker;
  openPopup(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchWithExtension(serverUrl: string, options: { sellerUrl?: string } = {}): Promise<ExtensionBrowser> {
  const root = mkdtempSync(join(tmpdir(), 'billing-browser-'));
  const extensionDir = await buildExtension({ serverUrl, sellerUrl: options.sellerUrl, outDir: join(root, 'extension') });
  const context = await chromium.launchPersistentContext(join(root, 'profile'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      `--disable-extensions-except=${extensionDir}`,
      `--load-extension=${extensionDir}`,
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
    ],
  });
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
  const extensionId = new URL(worker.url()).host;
  return {
    context,
    extensionId,
    worker,
    async openPopup() {
      const page = await context.newPage();
      await page.setViewportSize({ width: 330, height: 300 });
      await page.goto(`chrome-extension://${extensionId}/popup.html`);
      return page;
    },
    async close() {
      await context.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Waits, without reloading, until this open popup shows this plan (and this much of the rest). */
export async function waitForPlan(
  popup: Page,
  plan: string,
  extra: { status?: string; period?: RegExp; stale?: boolean } = {},
): Promise<void> {
  await popup
    .locator('#plan')
    .filter({ hasText: new RegExp(`^${plan}$`) })
    .waitFor({ timeout: 15_000 });
  if (extra.status)
    await popup
      .locator('#status')
      .filter({ hasText: new RegExp(`^${extra.status}$`) })
      .waitFor({ timeout: 15_000 });
  if (extra.period) await popup.locator('#period-label').filter({ hasText: extra.period }).waitFor({ timeout: 15_000 });
  await popup.locator('#stale').waitFor({ state: extra.stale ? 'visible' : 'hidden', timeout: 15_000 });
}

/**
 * What the browser tests run against: the Stripe stand-in and the real service on a fresh SQLite
 * database, paying through the stand-in (refetch mode). The port is chosen once, so that
 * `startBilling()` after a stop starts the service again at the URL the extension was built for.
 */
export interface BillingStack {
  standIn: StripeStandIn;
  /** Starts the service (again), and points the stand-in's webhooks at it. */
  startBilling(): Promise<RunningService>;
  /** Stops the stand-in and drops the database (the service is the caller's to close). */
  close(): Promise<void>;
}

export async function startBillingStack(config: Partial<ServiceConfig> = {}): Promise<BillingStack> {
  const standIn = new StripeStandIn();
  await standIn.listen();
  const database = await createSqliteDatabase();
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    standIn,
    async startBilling() {
      const svc = await startService(database, {
        port,
        config: {
          stripeSecretKey: TEST_STRIPE_KEY,
          stripeApiUrl: standIn.url,
          syncMode: 'refetch',
          checkoutSuccessUrl: `${baseUrl}/billing/success?session_id={CHECKOUT_SESSION_ID}`,
          checkoutCancelUrl: `${baseUrl}/billing/cancel`,
          portalReturnUrl: `${baseUrl}/billing/done`,
          ...config,
        },
      });
      standIn.setWebhookTarget({ url: `${svc.baseUrl}/webhooks/stripe`, secret: TEST_SECRET });
      return svc;
    },
    async close() {
      await standIn.close();
      await database.drop();
    },
  };
}
