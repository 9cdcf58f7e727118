import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.js';

/** A dashboard session lasts this long from sign-in, then it is sign-in again. */
export const SESSION_MS = 12 * 3600 * 1000;

export interface Session {
  /** The session's CSRF token: every state-changing form carries it. */
  csrf: string;
  expiresAt: number;
}

const hash = (id: string) => createHash('sha256').update(id).digest('base64url');
export const randomToken = () => randomBytes(32).toString('base64url');

/** Sessions in the database (every instance knows them); only a hash of the id, which the cookie carries, is stored. */
export class DashboardSessions {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => number,
  ) {}

  async create(): Promise<{ id: string; session: Session }> {
    const id = randomToken();
    const now = this.now();
    const session = { csrf: randomToken(), expiresAt: now + SESSION_MS };
    // Expired rows go when a new session starts: sign-ins are rare, so this costs nothing that matters.
    await this.db.deleteFrom('dashboard_sessions').where('expires_at', '<=', now).execute();
    await this.db
      .insertInto('dashboard_sessions')
      .values({ id_hash: hash(id), csrf_token: session.csrf, created_at: now, expires_at: session.expiresAt })
      .execute();
    return { id, session };
  }

  async find(id: string): Promise<Session | undefined> {
    const row = await this.db
      .selectFrom('dashboard_sessions')
      .select(['csrf_token', 'expires_at'])
      .where('id_hash', '=', hash(id))
      .executeTakeFirst();
    if (!row || Number(row.expires_at) <= this.now()) return undefined;
    return { csrf: row.csrf_token, expiresAt: Number(row.expires_at) };
  }

  async end(id: string): Promise<void> {
    await this.db.deleteFrom('dashboard_sessions').where('id_hash', '=', hash(id)).execute();
  }
}
