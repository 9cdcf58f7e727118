import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { TrialSettings } from '../config/index.js';
import { type Database, inWriteTransaction, type Store } from '../db/index.js';
import { NO_FIELDS, parseInput } from '../http/index.js';
import { type Authenticator, unauthorized } from '../users/index.js';
import { decideTrialStart, type TrialRecord, type TrialRefusal } from './decide.js';

/** Card-less trials: `POST /v1/trial` starts one, and a check reads it (src/entitlements/routes.ts). */

export async function trialOf(db: Kysely<Database>, accountId: string): Promise<TrialRecord | null> {
  const row = await db
    .selectFrom('trials')
    .select(['price_id', 'started_at', 'ends_at'])
    .where('user_id', '=', accountId)
    .executeTakeFirst();
  return row ? { priceId: row.price_id, startedAt: row.started_at, endsAt: row.ends_at } : null;
}

type Started = { started: true; trial: TrialRecord } | { started: false; refusal: TrialRefusal };

/**
 * Starts the account's trial when the rules allow (decideTrialStart), in one write transaction. The
 * primary keys are the last word: of two starts at once for one account or one email, one inserts
 * and the other fails, and is answered trial_used.
 */
async function startTrial(store: Store, accountId: string, settings: TrialSettings, nowSeconds: number): Promise<Started> {
  try {
    return await inWriteTransaction(store, async (db) => {
      const emails = (await db.selectFrom('account_emails').select('email').where('user_id', '=', accountId).execute()).map((r) => r.email);
      const [hadTrial, subscription, emailsThatHadTrial] = await Promise.all([
        db.selectFrom('trials').select('user_id').where('user_id', '=', accountId).executeTakeFirst(),
        db
          .selectFrom('subscriptions')
          .innerJoin('customers', 'customers.id', 'subscriptions.customer_id')
          .innerJoin('users', 'users.id', 'customers.user_id')
          .select('subscriptions.id')
          .where((eb) => eb.or([eb('users.id', '=', accountId), eb('users.account_id', '=', accountId)]))
          .executeTakeFirst(),
        emails.length === 0 ? [] : db.selectFrom('trial_emails').select('email').where('email', 'in', emails).execute(),
      ]);
      const decision = decideTrialStart({
        hadTrial: hadTrial !== undefined,
        subscribed: subscription !== undefined,
        verifiedEmails: emails.length,
        emailsThatHadTrial: emailsThatHadTrial.length,
        requiresEmail: settings.requiresEmail,
      });
      if (!decision.start) return { started: false, refusal: decision.refusal };
      const trial = { priceId: settings.priceId, startedAt: nowSeconds, endsAt: nowSeconds + settings.days * 86_400 };
      await db
        .insertInto('trials')
        .values({ user_id: accountId, price_id: trial.priceId, started_at: trial.startedAt, ends_at: trial.endsAt })
        .execute();
      if (emails.length > 0)
        await db
          .insertInto('trial_emails')
          .values(emails.map((email) => ({ email, user_id: accountId })))
          .execute();
      return { started: true, trial };
    });
  } catch (error) {
    if (isUniqueViolation(error)) return { started: false, refusal: 'trial_used' };
    throw error;
  }
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

const REFUSALS: Record<TrialRefusal, { status: number; message: string }> = {
  trial_used: { status: 409, message: 'this account, or an email it verified, has had its trial' },
  already_subscribed: { status: 409, message: 'this account has a subscription; a trial would grant nothing more' },
  email_required: { status: 403, message: 'verify an email first (POST /v1/account/email): trials are given once per email' },
};

export interface TrialRouteOptions {
  store: Store;
  authenticator: Authenticator;
  /** Undefined: trials are off, and the route answers 404 trials_not_offered. */
  trial: TrialSettings | undefined;
  now?: () => number;
  onResult?: (result: 'started' | TrialRefusal) => void;
}

export function trialRoutes(app: FastifyInstance, options: TrialRouteOptions): void {
  app.post('/v1/trial', { config: { rateLimit: 'auth' } }, async (request, reply) => {
    const accountId = await options.authenticator.userId(request);
    if (!accountId) return unauthorized(reply);
    if (!parseInput(NO_FIELDS, 'body', request, reply)) return reply;
    if (!options.trial) return reply.code(404).send({ error: 'trials_not_offered', message: 'this service offers no free trial' });
    const nowSeconds = Math.floor((options.now ?? Date.now)() / 1000);
    const result = await startTrial(options.store, accountId, options.trial, nowSeconds);
    if (!result.started) {
      options.onResult?.(result.refusal);
      request.log.info({ userId: accountId, refusal: result.refusal }, 'trial refused');
      const { status, message } = REFUSALS[result.refusal];
      return reply.code(status).send({ error: result.refusal, message });
    }
    options.onResult?.('started');
    request.log.info({ userId: accountId, priceId: result.trial.priceId, endsAt: result.trial.endsAt }, 'trial started');
    return reply.code(201).send({ priceId: result.trial.priceId, trialEndsAt: new Date(result.trial.endsAt * 1000).toISOString() });
  });
}
