import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../db/index.js';
import { EventQueue } from '../subscriptions/index.js';

/** Compares digests so that neither the length nor the content of the token leaks through timing. */
export function tokenMatches(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** `/admin/*`, behind `Authorization: Bearer <ADMIN_TOKEN>`; mounted only when ADMIN_TOKEN is set. */
export function adminRoutes(app: FastifyInstance, store: Store, adminToken: string, onReplayed: () => void): void {
  const queue = new EventQueue(store);

  app.register(async (admin) => {
    admin.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      const match = /^Bearer (.+)$/.exec(request.headers.authorization ?? '');
      if (!match || !tokenMatches(match[1]!, adminToken)) {
        return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'a valid admin token is required' });
      }
    });

    admin.post<{ Params: { id: string } }>('/admin/webhook-events/:id/replay', async (request, reply) => {
      const { id } = request.params;
      const replayed = await queue.replay({ id });
      if (replayed.length === 0) {
        const exists = await store.db.selectFrom('webhook_events').select('status').where('id', '=', id).executeTakeFirst();
        return exists
          ? reply.code(409).send({ error: 'in_process', message: 'the event is being processed right now; try again shortly' })
          : reply.code(404).send({ error: 'not_found', message: 'no stored event with this id' });
      }
      request.log.info({ eventId: id }, 'event replayed by an admin');
      onReplayed();
      return { replayed };
    });
  });
}
