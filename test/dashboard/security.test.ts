import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrfOf, getPage, postForm, signIn } from '../helpers/dashboard.js';
import { BACKENDS, createSqliteDatabase, type TestDatabase } from '../helpers/databases.js';
import { deliverAll, envelope, newId, nowSeconds } from '../helpers/events.js';
import { registerSecret } from '../helpers/log-scan.js';
import { metricValue } from '../helpers/metrics.js';
import { type RunningService, startService, useService } from '../helpers/service.js';

const ADMIN_TOKEN = 'admin-token-for-the-dashboard-security-tests';
const HOUR = 3_600_000;

/** The dashboard's sign-in, sessions, CSRF and Origin checks, page policy and escaping, over real HTTP on each database. */
describe.each(BACKENDS)('dashboard security on $name', (backend) => {
  let clock = Date.now();
  const context = useService(backend, { config: { adminToken: ADMIN_TOKEN }, now: () => clock });
  const base = () => context.svc.baseUrl;

  async function session(): Promise<{ cookie: string; csrf: string }> {
    const { session: cookie } = await signIn(base(), ADMIN_TOKEN);
    registerSecret('a dashboard session id', cookie!.split('=')[1]);
    return { cookie: cookie!, csrf: csrfOf((await getPage(base(), '/dashboard/', cookie)).html) };
  }

  it('sends anyone without a session to sign-in, under a strict page policy', async () => {
    const overview = await getPage(base(), '/dashboard/');
    expect(overview).toMatchObject({ status: 303, location: '/dashboard/login' });
    const response = await fetch(`${base()}/dashboard/login`);
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toMatch(/unsafe-inline|script-src/);
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(await response.text()).not.toMatch(/<script|style=/);
  });

  it('a wrong token is refused (401), logged and counted without the token; the right one opens a 12-hour session', async () => {
    const refusedBefore = await metricValue(base(), 'dashboard_sign_ins_total{result="refused"}');
    const wrong = await signIn(base(), 'not-the-admin-token-but-long-enough');
    expect(wrong.status).toBe(401);
    expect(wrong.session).toBeUndefined();
    expect(wrong.html).toContain('That is not the admin token.');
    expect(await metricValue(base(), 'dashboard_sign_ins_total{result="refused"}')).toBe(refusedBefore + 1);
    const logged = context.svc.logs.filter((l) => l.msg === 'dashboard sign-in refused: wrong admin token');
    expect(logged.length).toBeGreaterThan(0);
    expect(JSON.stringify(context.svc.logs)).not.toContain('not-the-admin-token-but-long-enough');

    const right = await signIn(base(), ADMIN_TOKEN);
    expect(right).toMatchObject({ status: 303, location: '/dashboard/' });
    const line = right.setCookies.find((c) => c.startsWith('billing_dashboard='))!;
    expect(line).toMatch(/; Path=\/dashboard; Max-Age=43200; HttpOnly; SameSite=Strict$/); // no Secure: local mode on loopback
    const id = right.session!.split('=')[1]!;
    registerSecret('a dashboard session id', id);
    const rows = await context.svc.store.db.selectFrom('dashboard_sessions').selectAll().execute();
    expect(rows.map((r) => r.id_hash)).toContain(createHash('sha256').update(id).digest('base64url'));
    expect(JSON.stringify(rows)).not.toContain(id);
    const page = await getPage(base(), '/dashboard/', right.session);
    expect(page.status).toBe(200);
    expect(page.html).toContain('<h1>Overview</h1>');
  });

  it('refuses a form post without the CSRF token, with a wrong one, from another origin or with no Origin', async () => {
    const { cookie, csrf } = await session();
    const path = `/dashboard/events/${newId('evt')}/replay`;
    const before = await metricValue(base(), 'dashboard_refusals_total{reason="csrf"}');
    for (const fields of [{}, { csrf: 'x'.repeat(43) }] as Record<string, string>[])
      expect((await postForm(base(), path, fields, { cookie })).status).toBe(403);
    expect(await metricValue(base(), 'dashboard_refusals_total{reason="csrf"}')).toBe(before + 2);
    for (const origin of ['https://attacker.example', null])
      expect((await postForm(base(), path, { csrf }, { cookie, origin })).status).toBe(403);
    expect(await metricValue(base(), 'dashboard_refusals_total{reason="cross_origin"}')).toBeGreaterThanOrEqual(2);
    // The same post with the token and its own origin goes through (nothing to replay: it says so).
    expect(await postForm(base(), path, { csrf }, { cookie })).toMatchObject({
      status: 303,
      location: expect.stringContaining('replayed=0'),
    });
    // The sign-in form has its own token, in a short-lived cookie.
    const login = await getPage(base(), '/dashboard/login');
    expect((await postForm(base(), '/dashboard/login', { token: ADMIN_TOKEN, csrf: csrfOf(login.html) })).status).toBe(403);
  });

  it('a session expires after 12 hours, and signing out ends it at once', async () => {
    const { cookie, csrf } = await session();
    const saved = clock;
    try {
      clock += 12 * HOUR - 1000;
      expect((await getPage(base(), '/dashboard/', cookie)).status).toBe(200);
      clock += 2000;
      const expired = await getPage(base(), '/dashboard/events', cookie);
      expect(expired).toMatchObject({ status: 303, location: '/dashboard/login' });
      expect(expired.setCookies[0]).toMatch(/^billing_dashboard=; .*Max-Age=0/);
    } finally {
      clock = saved;
    }
    const other = await session();
    expect(await postForm(base(), '/dashboard/logout', { csrf: other.csrf }, { cookie: other.cookie })).toMatchObject({
      status: 303,
      location: '/dashboard/login',
    });
    expect((await getPage(base(), '/dashboard/', other.cookie)).status).toBe(303);
    expect(csrf).not.toBe(other.csrf);
  });

  it('escapes everything shown from an event', async () => {
    const { cookie } = await session();
    const hostile = '<script>window.pwned=1</script>"><img src=x onerror="window.pwned=2">';
    const event = envelope(
      'customer.subscription.updated',
      { object: 'subscription', id: newId('sub'), status: hostile, metadata: { note: hostile } },
      nowSeconds(),
    );
    await deliverAll(base(), [event]);
    await context.svc.settle();
    const page = await getPage(base(), `/dashboard/events/${event.id}`, cookie);
    expect(page.status).toBe(200);
    expect(page.html).not.toContain('<script>window.pwned');
    expect(page.html).not.toContain('<img src=x');
    expect(page.html).toContain('&lt;script&gt;window.pwned=1&lt;/script&gt;');
    expect(page.html).toContain('&gt;&lt;img src=x onerror=');
  });
});

describe('dashboard settings', () => {
  const databases: TestDatabase[] = [];
  const services: RunningService[] = [];
  const start = async (config: NonNullable<Parameters<typeof startService>[1]>['config']) => {
    databases.push(await createSqliteDatabase());
    services.push(await startService(databases.at(-1)!, { config }));
    return services.at(-1)!;
  };
  let plain: RunningService;
  beforeAll(async () => {
    plain = await start({});
  });
  afterAll(async () => {
    for (const svc of services) await svc.close();
    for (const db of databases) await db.drop();
  });

  it('is not there without ADMIN_TOKEN', async () => {
    expect((await getPage(plain.baseUrl, '/dashboard/')).status).toBe(404);
    expect((await getPage(plain.baseUrl, '/dashboard/login')).status).toBe(404);
  });

  it('sets Secure on its cookies outside local mode', async () => {
    const svc = await start({ adminToken: ADMIN_TOKEN, production: true });
    const login = await getPage(svc.baseUrl, '/dashboard/login');
    expect(login.setCookies[0]).toMatch(/; HttpOnly; SameSite=Strict; Secure$/);
  });

  it('rate-limits failed sign-ins per address', async () => {
    const svc = await start({ adminToken: ADMIN_TOKEN, rateLimits: { signupsPerMinute: 100, authFailuresPerMinute: 3 } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await signIn(svc.baseUrl, `wrong-token-number-${i}-of-some-length`)).status);
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    expect(statuses.slice(3)).toEqual([429, 429]);
  });
});
