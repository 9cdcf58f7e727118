import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AlertSettings } from '../config/index.js';
import type { Store, WebhookEventStatus } from '../db/index.js';
import type { EntitlementSettings } from '../entitlements/index.js';
import { invalidRequest, NO_FIELDS, parseInput, secretMatches } from '../http/index.js';
import { EventQueue } from '../subscriptions/index.js';
import type { UsageQuotas } from '../usage/index.js';
import { ACTIVITY_RANGES, activityView, alertsView } from './health.js';
import type { Metrics } from './metrics.js';
import { eventDetail, findUsers, InvalidCursorError, listEvents, resetUsageView, statsView, usageView, userDetail } from './views.js';

export const EVENT_STATUSES: WebhookEventStatus[] = ['pending', 'processing', 'applied', 'ignored', 'failed', 'dead'];

const listQuery = z.strictObject({
  status: z.enum(EVENT_STATUSES).optional(),
  type: z.string().min(1).max(255).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(1000).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});
const activityQuery = z.strictObject({ range: z.enum(ACTIVITY_RANGES).default('24h') });
const userQuery = z.strictObject({ query: z.string().trim().min(1).max(320) });

export interface AdminOptions {
  store: Store;
  adminToken: string;
  entitlements: EntitlementSettings;
  quotas: UsageQuotas;
  alerts: AlertSettings | undefined;
  metrics: Metrics;
  now: () => number;
  onReplayed: () => void;
}

/** `/admin/*`, behind `Authorization: Bearer <ADMIN_TOKEN>`; mounted only when ADMIN_TOKEN is set. */
export function adminRoutes(app: FastifyInstance, options: AdminOptions): void {
  const { store, adminToken } = options;
  const queue = new EventQueue(store);
  const notFound = (reply: FastifyReply, message: string) => reply.code(404).send({ error: 'not_found', message });

  app.register(async (admin) => {
    // Wrong admin tokens count towards the per-address limit of failed authentications.
    admin.addHook('onRoute', (route) => {
      route.config = { ...route.config, rateLimit: 'auth' };
    });
    admin.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      const match = /^Bearer (.+)$/.exec(request.headers.authorization ?? '');
      if (!match || !secretMatches(match[1]!, adminToken)) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer')
          .send({ error: 'unauthorized', message: 'a valid admin token is required' });
      }
      reply.header('cache-control', 'no-store');
    });

    admin.get('/admin/webhook-events', async (request, reply) => {
      const query = parseInput(listQuery, 'query', request, reply);
      if (!query) return reply;
      try {
        const { from, to, ...rest } = query;
        const bounds = { from: from === undefined ? undefined : Date.parse(from), to: to === undefined ? undefined : Date.parse(to) };
        return await listEvents(store.db, { ...rest, ...bounds });
      } catch (error) {
        if (error instanceof InvalidCursorError) return invalidRequest(reply, error.message);
        throw error;
      }
    });

    admin.get<{ Params: { id: string } }>('/admin/webhook-events/:id', async (request, reply) => {
      return (await eventDetail(store.db, request.params.id)) ?? notFound(reply, 'no stored event with this id');
    });

    admin.post<{ Params: { id: string } }>('/admin/webhook-events/:id/replay', async (request, reply) => {
      if (!parseInput(NO_FIELDS, 'body', request, reply)) return reply;
      const { id } = request.params;
      const outcome = await queue.replayOne(id);
      if (outcome === 'in_process')
        return reply.code(409).send({ error: 'in_process', message: 'the event is being processed right now; try again shortly' });
      if (outcome === 'not_found') return notFound(reply, 'no stored event with this id');
      request.log.info({ eventId: id }, 'event replayed by an admin');
      options.onReplayed();
      return { replayed: [id] };
    });

    admin.get<{ Params: { id: string } }>('/admin/users/:id', async (request, reply) => {
      return (
        (await userDetail(options.entitlements, options.quotas, request.params.id)) ??
        notFound(reply, 'no user or linked customer with this id')
      );
    });

    admin.get<{ Params: { id: string } }>('/admin/users/:id/usage', async (request) =>
      usageView(options.entitlements, options.quotas, request.params.id),
    );

    admin.post<{ Params: { id: string; feature: string } }>('/admin/users/:id/usage/:feature/reset', async (request, reply) => {
      if (!parseInput(NO_FIELDS, 'body', request, reply)) return reply;
      const { id, feature } = request.params;
      const reset = await resetUsageView(options.entitlements, options.quotas, id, feature);
      if (!reset) return reply.code(404).send({ error: 'unknown_feature', message: 'no usage limits are configured for this feature' });
      request.log.info({ userId: id, feature, reset: reset.reset }, 'usage reset by an admin');
      return reset;
    });

    admin.get('/admin/stats', async () => statsView(store.db, options.metrics));

    admin.get('/admin/activity', async (request, reply) => {
      const query = parseInput(activityQuery, 'query', request, reply);
      return query ? activityView(store.db, query.range, options.now()) : reply;
    });

    admin.get('/admin/alerts', async () => alertsView(store.db, options.alerts, options.now()));

    admin.get('/admin/users', async (request, reply) => {
      const query = parseInput(userQuery, 'query', request, reply);
      return query ? { users: await findUsers(store.db, query.query) } : reply;
    });
  });
}
