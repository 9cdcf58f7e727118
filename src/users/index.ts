import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.js';

/** Users of the extension: one anonymous account per install, identified by a bearer token shown once. */

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export async function createUser(db: Kysely<Database>): Promise<{ userId: string; token: string }> {
  const userId = `usr_${randomBytes(12).toString('base64url')}`;
  // 32 random bytes: 43 base64url characters. Only its hash is stored.
  const token = randomBytes(32).toString('base64url');
  await db.insertInto('users').values({ id: userId, token_hash: hashToken(token), created_at: Date.now() }).execute();
  return { userId, token };
}

const BEARER = /^Bearer ([A-Za-z0-9_-]{20,200})$/;

/** The stored hash of the request's bearer token, or null when the header is missing or malformed. */
export function bearerTokenHash(request: FastifyRequest): string | null {
  const match = BEARER.exec(request.headers.authorization ?? '');
  return match ? hashToken(match[1]!) : null;
}

export function userRoutes(app: FastifyInstance, db: Kysely<Database>): void {
  app.post('/v1/users', async (_request, reply) => {
    const created = await createUser(db);
    return reply.code(201).send(created);
  });
}
