import { mkdirSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookEventRow } from '../../src/db/index.js';
import { BACKENDS } from '../helpers/databases.js';
import { checkoutCompletedEvent, deliverAll, envelope, newId, nowSeconds, subscriptionEvent } from '../helpers/events.js';
import { useService } from '../helpers/service.js';
import { createUser } from '../helpers/users.js';

const ADMIN_TOKEN = 'admin-token-for-the-dashboard-browser-tests';
const SCREENSHOTS = new URL('../../test-results/screenshots/', import.meta.url).pathname;
const HOSTILE = '<script>window.pwned=1</script>"><img src=x onerror="window.pwned=2">';

/**
 * The operator's dashboard in Debian's Chromium against the real service on each database, as
 * an operator would use it: sign in, the overview, a dead event found, replayed and applied, a
 * user found with their history, sign out. An event carrying markup shows it as text, and
 * nothing in it runs.
 */
describe.each(BACKENDS)('the dashboard in Chromium on $name', (backend) => {
  /** The test's fault switch: events whose applying fails (once each) until replayed. */
  const failing = new Set<string>();
  const context = useService(backend, {
    config: { adminToken: ADMIN_TOKEN, retrySchedule: [] },
    worker: {
      afterApply: (row: WebhookEventRow) => {
        if (failing.delete(row.id)) throw new Error('injected failure: the database went away');
      },
    },
  });
  let browser: Browser;
  let page: Page;
  const scripts: string[] = [];
  let user: { userId: string };
  let subscriptionId: string;
  let deadId: string;
  let hostileId: string;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1'],
    });
    page = await browser.newPage({ viewport: { width: 1180, height: 900 } });
    page.setDefaultTimeout(8000);
    page.on('dialog', (dialog) => scripts.push(`dialog: ${dialog.message()}`));
    page.on('pageerror', (error) => scripts.push(`page error: ${error.message}`));

    user = await createUser(context.svc.baseUrl);
    subscriptionId = newId('sub');
    const customer = newId('cus');
    const t = nowSeconds() - 120;
    const created = subscriptionEvent('created', { id: subscriptionId, customer, status: 'active', userId: user.userId }, t + 1);
    const renewed = subscriptionEvent('updated', { id: subscriptionId, customer, status: 'past_due', userId: user.userId }, t + 2);
    failing.add(renewed.id);
    const hostile = envelope(
      'customer.subscription.updated',
      { object: 'subscription', id: newId('sub'), status: HOSTILE, metadata: { note: HOSTILE } },
      t + 3,
    );
    await deliverAll(context.svc.baseUrl, [
      checkoutCompletedEvent({ customer, userId: user.userId, subscription: subscriptionId, created: t }),
      created,
      renewed,
      hostile,
    ]);
    await context.svc.settle();
    deadId = renewed.id;
    hostileId = hostile.id;
  });
  afterAll(async () => {
    await browser?.close();
  });

  const shot = (name: string) =>
    backend.name === 'sqlite' ? page.screenshot({ path: `${SCREENSHOTS}dashboard-${name}.png`, fullPage: true }) : Promise.resolve();

  it('signs in: a wrong token is refused, the right one opens the overview', async () => {
    await page.goto(`${context.svc.baseUrl}/dashboard/`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/login');
    await shot('1-sign-in');
    await page.fill('#token', 'not-the-admin-token-at-all');
    await page.click('button[type=submit]');
    await page.getByRole('alert').filter({ hasText: 'That is not the admin token.' }).waitFor();
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('button[type=submit]');
    await page.waitForURL(`${context.svc.baseUrl}/dashboard/`);
    expect(await page.locator('h1').textContent()).toBe('Overview');
  });

  it('the overview: activity, the queue, the alerts and the latest dead events', async () => {
    expect(await page.locator('#dead-now .value').textContent()).toBe('2'); // the failed update, and the event carrying markup (malformed)
    expect(Number(await page.locator('#received-24h .value').textContent())).toBeGreaterThanOrEqual(4);
    expect(await page.locator('svg.chart').count()).toBe(2);
    expect(await page.locator('svg.chart rect').count()).toBeGreaterThan(0);
    await expect
      .poll(() => page.locator('table.alerts tr', { hasText: 'Dead webhook events' }).locator('.badge').textContent())
      .toBe('firing');
    expect(await page.locator('table.events').textContent()).toContain(deadId);
    await shot('2-overview');
  });

  it('finds the dead event, shows its attempts and payload, and replays it until applied', async () => {
    await page.click('a[href="/dashboard/events?status=dead"]');
    await page.locator(`a[href="/dashboard/events/${deadId}"]`).click();
    expect(await page.locator('#event-status').textContent()).toBe('dead');
    expect(await page.locator('table.attempts').textContent()).toContain('injected failure: the database went away');
    expect(JSON.parse((await page.locator('#payload').textContent())!)).toMatchObject({ id: deadId });
    await shot('3-dead-event');
    await page.click('#replay');
    await page.getByRole('status').filter({ hasText: 'Replayed 1 event' }).waitFor();
    await context.svc.settle();
    await page.reload();
    expect(await page.locator('#event-status').textContent()).toBe('applied');
    expect(await page.locator('table.changes').textContent()).toContain(subscriptionId);
    await shot('4-replayed');
  });

  it('shows an event carrying markup as text: nothing in it runs', async () => {
    await page.goto(`${context.svc.baseUrl}/dashboard/events/${hostileId}`);
    expect(JSON.parse((await page.locator('#payload').textContent())!).data.object.metadata.note).toBe(HOSTILE);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.evaluate(() => (window as { pwned?: number }).pwned)).toBeUndefined();
    const html = await page.content();
    expect(html).not.toContain('<script>window.pwned');
    expect(scripts, scripts.join('\n')).toEqual([]);
  });

  it('searches a user and shows their subscription history, event by event', async () => {
    await page.fill('input[name=query]', subscriptionId);
    await page.press('input[name=query]', 'Enter');
    await page.waitForURL(`${context.svc.baseUrl}/dashboard/users/${user.userId}`);
    const history = page.locator('table.history');
    expect(await history.textContent()).toContain(deadId);
    expect(await history.locator('tr').count()).toBeGreaterThanOrEqual(3); // header, created, the replayed update
    expect(await page.locator('#entitlement').textContent()).toContain('past_due');
    await shot('5-user');
  });

  it('signs out: the pages go back to sign-in', async () => {
    await page.click('#sign-out');
    await page.waitForURL(`${context.svc.baseUrl}/dashboard/login`);
    await page.goto(`${context.svc.baseUrl}/dashboard/events`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/login');
  });
});
