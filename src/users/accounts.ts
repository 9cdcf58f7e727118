import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.js';
import { NO_FIELDS, parseInput } from '../http/index.js';

/**
 * Users of the extension: by default one anonymous account per install, identified by a bearer
 * token shown once; optionally the users of the seller's own sign-in, by their JWTs.
 */

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A new user's id: 12 random bytes. */
export function newUserId(): string {
  return `usr_${randomBytes(12).toString('base64url')}`;
}

export async function createUser(db: Kysely<Database>): Promise<{ userId: string; token: string }> {
  const userId = newUserId();
  // 32 random bytes: 43 base64url characters. Only its hash is stored.
  const token = randomBytes(32).toString('base64url');
  await db
    .insertInto('users')
    .values({ id: userId, token_hash: hashToken(token), created_at: Date.now() })
    .execute();
  return { userId, token };
}

const OPAQUE_TOKEN = /^Bearer ([A-Za-z0-9_-]{20,200})$/;
const JWT = /^Bearer ([A-Za-z0-9_-]{2,4096}\.[A-Za-z0-9_-]{2,8192}\.[A-Za-z0-9_-]{2,1024})$/;
const KNOWN_JWT_USERS_LIMIT = 100_000;

/**
 * Who is calling: the user behind an opaque token from `POST /v1/users`, or, when the seller's
 * sign-in is configured, the `sub` of a verified JWT (that user is created on first sight).
 */
export class Authenticator {
  /** JWT users already known to exist, so that a check costs no write. */
  private readonly knownJwtUsers = new Set<string>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly verifyJwt?: (token: string) => Promise<string | null>,
  ) {}

  /** The install behind the request's opaque token; null for none, a JWT, or an unknown token. */
  install(request: FastifyRequest): Promise<Install | null> {
    return installOf(this.db, request);
  }

  /**
   * The user id the request acts for (an install's account, once it verified an email), or null
   * for a missing, malformed, unknown, expired or wrongly signed token. Throws AuthUnavailableError.
   */
  async userId(request: FastifyRequest): Promise<string | null> {
    if (bearerTokenHash(request)) return (await this.install(request))?.accountId ?? null;
    const jwt = this.verifyJwt ? JWT.exec(request.headers.authorization ?? '') : null;
    if (!jwt) return null;
    const userId = await this.verifyJwt!(jwt[1]!);
    if (userId && !this.knownJwtUsers.has(userId)) {
      await this.db
        .insertInto('users')
        .values({ id: userId, token_hash: null, created_at: Date.now() })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      if (this.knownJwtUsers.size >= KNOWN_JWT_USERS_LIMIT) this.knownJwtUsers.clear();
      this.knownJwtUsers.add(userId);
    }
    return userId;
  }
}

/** An install: the user its opaque token belongs to, and the account that user acts for (itself when it has none). */
export interface Install {
  userId: string;
  accountId: string;
}

/** What the opaque token of the request belongs to (account routes take only these); null for none or an unknown one. */
async function installOf(db: Kysely<Database>, request: FastifyRequest): Promise<Install | null> {
  const tokenHash = bearerTokenHash(request);
  if (!tokenHash) return null;
  const row = await db.selectFrom('users').select(['id', 'account_id']).where('token_hash', '=', tokenHash).executeTakeFirst();
  return row ? { userId: row.id, accountId: row.account_id ?? row.id } : null;
}

/** The answer to a request without a valid bearer token. */
export function unauthorized(reply: FastifyReply) {
  return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'a valid bearer token is required' });
}

/** The stored hash of the request's opaque bearer token (from `POST /v1/users`); null for none, or a JWT. */
export function bearerTokenHash(request: FastifyRequest): string | null {
  const match = OPAQUE_TOKEN.exec(request.headers.authorization ?? '');
  return match ? hashToken(match[1]!) : null;
}

export function userRoutes(app: FastifyInstance, db: Kysely<Database>): void {
  app.post('/v1/users', { config: { rateLimit: 'signup' } }, async (request, reply) => {
    if (!parseInput(NO_FIELDS, 'body', request, reply)) return reply;
    const created = await createUser(db);
    return reply.code(201).send(created);
  });
}
