import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { secretMatches } from '../http/index.js';
import type { AdminOptions } from '../ops/index.js';
import { LOGIN_COOKIE, readCookie, SESSION_COOKIE, sameOrigin, setCookie } from './auth.js';
import type { Html } from './html.js';
import { loginPage, messagePage } from './layout.js';
import { eventPage, eventsPage, replayDeadOfType, replayOne } from './pages/events.js';
import { overviewPage } from './pages/overview.js';
import { userPage, usersPage } from './pages/users.js';
import { DashboardSessions, randomToken, SESSION_MS, type Session } from './sessions.js';
import { DASHBOARD_CSS } from './styles.js';

/** What the admin API is built from, and what only pages need. */
export interface DashboardOptions extends AdminOptions {
  /** PUBLIC_URL: its origin is accepted on form posts besides the request's own. */
  publicUrl: string | undefined;
  /** Whether cookies carry `Secure` (all but local mode on loopback). */
  secure: boolean;
}

/** What every signed-in page is built from. */
export interface PageContext extends DashboardOptions {
  csrf: string;
}

/**
 * Strict for pages too: styles and images only from the service itself, no script at all
 * (nothing on the dashboard needs one), forms only to itself, never framed.
 */
const DASHBOARD_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const FORM_BODY_LIMIT = 64 * 1024;

const sendPage = (reply: FastifyReply, page: Html, status = 200) => reply.code(status).type('text/html; charset=utf-8').send(page.text);

type Form = Record<string, string | undefined>;

/** The server-rendered operator dashboard under /dashboard/, behind a sign-in with ADMIN_TOKEN; mounted only when it is set. */
export function dashboardRoutes(app: FastifyInstance, options: DashboardOptions): void {
  const sessions = new DashboardSessions(options.store.db, options.now);
  const signedIn = new WeakMap<FastifyRequest, Session>();
  const refuse = (request: FastifyRequest, reply: FastifyReply, reason: 'cross_origin' | 'csrf') => {
    request.log.warn({ reason, url: request.url }, 'dashboard form post refused');
    options.metrics.dashboardRefusals.inc({ reason });
    const message =
      reason === 'csrf'
        ? 'This form has expired or did not come from the dashboard. Reload the page and try again.'
        : 'Cross-origin form posts are refused.';
    return sendPage(reply, messagePage('Refused', message), 403);
  };
  const cookie = (name: string, value: string, path: string, maxAgeSeconds: number) =>
    setCookie(name, value, { path, maxAgeSeconds, secure: options.secure });

  app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_r, body, done) =>
      done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    scope.addHook('onRequest', (_request, reply, done) => {
      reply.header('content-security-policy', DASHBOARD_CSP);
      // Not the service's no-referrer: under it Chromium sends `Origin: null` on form posts, which the Origin check refuses.
      reply.header('referrer-policy', 'same-origin');
      done();
    });
    scope.addHook('preHandler', async (request, reply) => {
      if (request.method === 'POST' && !sameOrigin(request, options.publicUrl)) return refuse(request, reply, 'cross_origin');
      const url = request.routeOptions.url ?? '';
      if (url === '/dashboard/login' || url.startsWith('/dashboard/assets/')) return;
      const id = readCookie(request, SESSION_COOKIE);
      const session = id ? await sessions.find(id) : undefined;
      if (!session) {
        if (id) reply.header('set-cookie', cookie(SESSION_COOKIE, '', '/dashboard', 0));
        return reply.redirect('/dashboard/login', 303);
      }
      if (request.method === 'POST' && !secretMatches((request.body as Form | undefined)?.csrf, session.csrf))
        return refuse(request, reply, 'csrf');
      signedIn.set(request, session);
    });
    const context = (request: FastifyRequest): PageContext => ({ ...options, csrf: signedIn.get(request)!.csrf });

    scope.get('/dashboard/assets/dashboard.css', async (_request, reply) =>
      reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(DASHBOARD_CSS),
    );

    scope.get('/dashboard/login', async (request, reply) => {
      const id = readCookie(request, SESSION_COOKIE);
      if (id && (await sessions.find(id))) return reply.redirect('/dashboard/', 303);
      const csrf = randomToken();
      reply.header('set-cookie', cookie(LOGIN_COOKIE, csrf, '/dashboard/login', 3600));
      return sendPage(reply, loginPage(csrf));
    });

    // Wrong tokens answer 401, which the per-address limit of failed authentications counts (429 past it).
    scope.post('/dashboard/login', { config: { rateLimit: 'auth' } }, async (request, reply) => {
      const form = (request.body ?? {}) as Form;
      const loginCsrf = readCookie(request, LOGIN_COOKIE);
      if (!loginCsrf || !secretMatches(form.csrf, loginCsrf)) return refuse(request, reply, 'csrf');
      if (!secretMatches(form.token, options.adminToken)) {
        request.log.warn({ ip: request.ip }, 'dashboard sign-in refused: wrong admin token');
        options.metrics.dashboardSignIns.inc({ result: 'refused' });
        return sendPage(reply, loginPage(loginCsrf, 'That is not the admin token.'), 401);
      }
      const { id } = await sessions.create();
      request.log.info({ ip: request.ip }, 'dashboard sign-in');
      options.metrics.dashboardSignIns.inc({ result: 'signed_in' });
      reply.header('set-cookie', [
        cookie(SESSION_COOKIE, id, '/dashboard', SESSION_MS / 1000),
        cookie(LOGIN_COOKIE, '', '/dashboard/login', 0),
      ]);
      return reply.redirect('/dashboard/', 303);
    });

    scope.post('/dashboard/logout', async (request, reply) => {
      await sessions.end(readCookie(request, SESSION_COOKIE)!);
      reply.header('set-cookie', cookie(SESSION_COOKIE, '', '/dashboard', 0));
      return reply.redirect('/dashboard/login', 303);
    });

    scope.get('/dashboard/', async (request, reply) => sendPage(reply, await overviewPage(context(request))));

    scope.get<{ Querystring: Form }>('/dashboard/events', async (request, reply) => {
      const { page, status } = await eventsPage(context(request), request.query);
      return sendPage(reply, page, status);
    });

    scope.post<{ Body: Form }>('/dashboard/events/replay-dead', async (request, reply) =>
      reply.redirect(await replayDeadOfType(context(request), request.body.type ?? '', request.log), 303),
    );

    scope.get<{ Params: { id: string }; Querystring: Form }>('/dashboard/events/:id', async (request, reply) => {
      const { page, status } = await eventPage(context(request), request.params.id, request.query);
      return sendPage(reply, page, status);
    });

    scope.post<{ Params: { id: string } }>('/dashboard/events/:id/replay', async (request, reply) =>
      reply.redirect(await replayOne(context(request), request.params.id, request.log), 303),
    );

    scope.get<{ Querystring: Form }>('/dashboard/users', async (request, reply) => {
      const found = await usersPage(context(request), request.query.query ?? '');
      return typeof found === 'string' ? reply.redirect(found, 303) : sendPage(reply, found);
    });

    scope.get<{ Params: { id: string } }>('/dashboard/users/:id', async (request, reply) => {
      const { page, status } = await userPage(context(request), request.params.id);
      return sendPage(reply, page, status);
    });
  });
}
