import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.js';
import { type Authenticator, bearerTokenHash, unauthorized } from '../users/index.js';
import { type Decision, decideEntitlement } from './decide.js';
import { accessRecordFromRow, type CheckRow, rowsForTokenHash, rowsForUser } from './read-model.js';
import { type EntitlementSigner, jwksRoute } from './token.js';
import { trialOf } from './trial.js';

/** What deciding an entitlement needs. */
export interface EntitlementSettings {
  db: Kysely<Database>;
  pastDueGraceHours: number;
  priceFeatures: Record<string, string[]>;
  /** Whether card-less trials are offered: only then does a check read the account's trial. */
  trials: boolean;
  now?: () => number;
}

/** What the routes and the premium guard need besides. */
export interface EntitlementOptions extends EntitlementSettings {
  authenticator: Authenticator;
  /** Signs the token every answer carries. */
  signer: EntitlementSigner;
  /** Told of every check's result (for metrics). */
  onCheck?: (result: 'premium' | 'not_premium' | 'unauthorized') => void;
  /** More fields of the entitlement answer, from other folders (usage counts). */
  answerExtras?: (userId: string, decision: Decision) => Promise<Record<string, unknown>>;
}

/** A request's user and their entitlement, as every check decides it. */
export interface Checked {
  userId: string;
  decision: Decision;
  nowSeconds: number;
}

/** The pure part of a check: the decision over the user's subscription rows (and trial). */
async function decideFromRows(
  options: EntitlementSettings,
  userId: string,
  rows: readonly CheckRow[],
  nowSeconds: number,
): Promise<Decision> {
  const customerFeatures: Record<string, string[] | null> = {};
  for (const row of rows)
    customerFeatures[row.customer_id] = row.customer_features ? (JSON.parse(row.customer_features) as string[]) : null;
  return decideEntitlement({
    subscriptions: rows.map(accessRecordFromRow),
    customerFeatures,
    priceFeatures: options.priceFeatures,
    // A trial counts only without subscriptions, so it is read only then.
    trial: options.trials && rows.length === 0 ? await trialOf(options.db, userId) : null,
    now: nowSeconds,
    pastDueGraceHours: options.pastDueGraceHours,
  });
}

/** The decision for a user by id (the admin API, the CLI, usage views), read anew on every call. */
export async function decisionOf(options: EntitlementSettings, userId: string, nowSeconds = nowSecondsOf(options)): Promise<Decision> {
  return decideFromRows(options, userId, await rowsForUser(options.db, userId), nowSeconds);
}

function nowSecondsOf(options: EntitlementSettings): number {
  return Math.floor((options.now ?? Date.now)() / 1000);
}

/**
 * Authenticates the request and decides its user's entitlement; undefined without a valid token.
 * An opaque token takes one query (token hash → user → customers → subscriptions, all by index),
 * since this sits in every premium request; a JWT is verified first, then its user's rows read.
 */
export async function checkRequest(options: EntitlementOptions, request: FastifyRequest): Promise<Checked | undefined> {
  const nowSeconds = nowSecondsOf(options);
  const opaque = await checkOpaqueToken(options, request, nowSeconds);
  const checked = opaque === undefined ? await checkJwt(options, request, nowSeconds) : opaque;
  options.onCheck?.(checked ? (checked.decision.entitlement.premium ? 'premium' : 'not_premium') : 'unauthorized');
  return checked ? { ...checked, nowSeconds } : undefined;
}

/** undefined: not an opaque token; null: an unknown one. */
async function checkOpaqueToken(options: EntitlementOptions, request: FastifyRequest, nowSeconds: number) {
  const tokenHash = bearerTokenHash(request);
  if (!tokenHash) return undefined;
  const rows = await rowsForTokenHash(options.db, tokenHash);
  if (rows.length === 0) return null;
  // Left joins: a user without subscriptions comes back as one row of nulls.
  const subscriptions = rows.filter((r): r is (typeof rows)[number] & CheckRow => r.id !== null);
  const userId = rows[0]!.user_id;
  return { userId, decision: await decideFromRows(options, userId, subscriptions, nowSeconds) };
}

async function checkJwt(options: EntitlementOptions, request: FastifyRequest, nowSeconds: number) {
  const userId = await options.authenticator.userId(request);
  return userId ? { userId, decision: await decisionOf(options, userId, nowSeconds) } : null;
}

/**
 * The guard every premium route uses: 401 without a valid token, 402 when the user is not premium.
 * Use as a `preHandler`, together with `config: { rateLimit: 'auth' }` so that its 401s count
 * towards the per-address limit (src/users/rate-limit.ts).
 */
function premiumGuard(options: EntitlementOptions) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const checked = await checkRequest(options, request);
    if (!checked) return unauthorized(reply);
    const { entitlement } = checked.decision;
    if (!entitlement.premium) {
      return reply.code(402).send({ error: 'premium_required', reason: entitlement.reason });
    }
  };
}

export function entitlementRoutes(app: FastifyInstance, options: EntitlementOptions): void {
  jwksRoute(app, options.signer);
  // Cache-Control: no-store comes with every answer (src/http/security-headers.ts).
  app.get('/v1/entitlements', { config: { rateLimit: 'auth' } }, async (request, reply) => {
    const checked = await checkRequest(options, request);
    if (!checked) return unauthorized(reply);
    const { userId, decision, nowSeconds } = checked;
    const extras = await options.answerExtras?.(userId, decision);
    return { userId, ...decision.entitlement, ...extras, token: options.signer.sign(userId, decision, nowSeconds) };
  });

  app.get('/v1/premium/ping', { config: { rateLimit: 'auth' }, preHandler: premiumGuard(options) }, async () => ({ ok: true }));
}
