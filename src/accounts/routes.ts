import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { EmailSettings } from '../config/index.js';
import type { Store } from '../db/index.js';
import { NO_FIELDS, parseInput } from '../http/index.js';
import { normalizeEmail } from '../subscriptions/index.js';
import { type Authenticator, FixedWindowCounter, type Install, newUserId, unauthorized } from '../users/index.js';
import { codeMessage, describeEmail, newCode } from './email.js';
import { smtpMailer } from './mailer.js';
import { detachInstall, storeCode, verifyCode } from './store.js';

export interface AccountOptions {
  store: Store;
  authenticator: Authenticator;
  /** Undefined without SMTP_URL: the email routes then answer 503 email_not_configured. */
  email: EmailSettings | undefined;
  now?: () => number;
  /** Told of every request's result (for metrics). */
  onResult?: (route: 'email' | 'verify' | 'signout', result: string) => void;
}

const HOUR_MS = 3_600_000;
/** Codes sent to one address per hour; code requests and verify attempts per client address per hour. */
export const ACCOUNT_LIMITS = { codesPerAddress: 5, codeRequestsPerClient: 20, verifyAttemptsPerClient: 60 } as const;

const email = z
  .string()
  .max(253)
  .transform((value, ctx) => {
    const normalized = normalizeEmail(value);
    if (normalized === null) ctx.addIssue({ code: 'custom', message: 'must be an email address' });
    return normalized ?? '';
  });
const emailBody = z.strictObject({ email });
const verifyBody = z.strictObject({ email, code: z.string().regex(/^\d{6}$/, 'must be the 6 digits of the code') });

function limited(reply: FastifyReply, retryAfter: number, message: string) {
  return reply
    .code(429)
    .header('retry-after', String(retryAfter))
    .send({ error: 'rate_limited', message: `${message}; retry in ${retryAfter} s` });
}

/**
 * Restore a purchase on any device: an install asks for a code by email, and the code makes its
 * token act for the account of that email (see decide.ts for which account, and how it joins).
 */
export function accountRoutes(app: FastifyInstance, options: AccountOptions): void {
  const now = options.now ?? Date.now;
  const counters = {
    codesPerAddress: new FixedWindowCounter(ACCOUNT_LIMITS.codesPerAddress, { windowMs: HOUR_MS, now }),
    codeRequestsPerClient: new FixedWindowCounter(ACCOUNT_LIMITS.codeRequestsPerClient, { windowMs: HOUR_MS, now }),
    verifyAttemptsPerClient: new FixedWindowCounter(ACCOUNT_LIMITS.verifyAttemptsPerClient, { windowMs: HOUR_MS, now }),
  };
  const mailer = options.email ? smtpMailer(options.email) : undefined;
  app.addHook('onClose', async () => mailer?.close());
  const result = (route: 'email' | 'verify' | 'signout', outcome: string) => options.onResult?.(route, outcome);

  /** The install, or the answer that ends the request (401, or 503 without email). */
  async function installFor(request: FastifyRequest, reply: FastifyReply, needsEmail: boolean): Promise<Install | undefined> {
    if (needsEmail && !mailer) {
      reply.code(503).send({ error: 'email_not_configured', message: 'sign-in by email needs SMTP_URL and EMAIL_FROM on the service' });
      return undefined;
    }
    const install = await options.authenticator.install(request);
    if (!install) unauthorized(reply);
    return install ?? undefined;
  }

  app.post('/v1/account/email', { config: { rateLimit: 'auth' } }, async (request, reply) => {
    const install = await installFor(request, reply, true);
    if (!install) return reply;
    const body = parseInput(emailBody, 'body', request, reply);
    if (!body) return reply;
    const clientWait = counters.codeRequestsPerClient.retryAfterSeconds(request.ip);
    if (clientWait > 0) return refuse(request.log, reply, 'email', clientWait, 'too many code requests from this address', body.email);
    const addressWait = counters.codesPerAddress.retryAfterSeconds(body.email);
    if (addressWait > 0) return refuse(request.log, reply, 'email', addressWait, 'too many codes for this email', body.email);
    counters.codeRequestsPerClient.record(request.ip);
    counters.codesPerAddress.record(body.email);
    const code = newCode();
    await storeCode(options.store, body.email, install.userId, code, now());
    try {
      await mailer!.send({ to: body.email, ...codeMessage(code) });
    } catch (error) {
      result('email', 'send_failed');
      // Not the error itself: nodemailer's names the rejected recipients, whole.
      request.log.error(
        { smtp: smtpFailure(error), ...describeEmail(body.email) },
        'sign-in code not sent: the SMTP server refused or is unreachable',
      );
      return reply.code(503).send({ error: 'email_unavailable', message: 'the code could not be sent; try again later' });
    }
    result('email', 'sent');
    request.log.info({ userId: install.userId, ...describeEmail(body.email) }, 'sign-in code sent');
    return reply.code(202).send({ sent: true });
  });

  app.post('/v1/account/verify', { config: { rateLimit: 'auth' } }, async (request, reply) => {
    const install = await installFor(request, reply, true);
    if (!install) return reply;
    const body = parseInput(verifyBody, 'body', request, reply);
    if (!body) return reply;
    const clientWait = counters.verifyAttemptsPerClient.retryAfterSeconds(request.ip);
    if (clientWait > 0) return refuse(request.log, reply, 'verify', clientWait, 'too many codes tried from this address', body.email);
    counters.verifyAttemptsPerClient.record(request.ip);
    const verified = await verifyCode(options.store, install, body.email, body.code, now());
    if (!verified.verified) {
      result('verify', verified.reason);
      request.log.warn({ userId: install.userId, reason: verified.reason, ...describeEmail(body.email) }, 'sign-in code refused');
      return reply.code(400).send({ error: 'code_invalid', message: 'this code is wrong, used or expired; ask for a new one' });
    }
    result('verify', `linked_${verified.because}`);
    request.log.info(
      { userId: install.userId, accountId: verified.accountId, because: verified.because, ...describeEmail(body.email) },
      'install linked to an account',
    );
    return { userId: verified.accountId, email: body.email, linked: true };
  });

  app.post('/v1/account/signout', { config: { rateLimit: 'auth' } }, async (request, reply) => {
    const install = await installFor(request, reply, false);
    if (!install) return reply;
    if (!parseInput(NO_FIELDS, 'body', request, reply)) return reply;
    const fresh = newUserId();
    const detached = await detachInstall(options.store, install, fresh, now());
    if (detached === 'not_linked') {
      result('signout', 'not_linked');
      return reply
        .code(409)
        .send({ error: 'not_linked', message: 'this install has not verified an email: there is no account to sign out of' });
    }
    if (detached === 'moved') {
      result('signout', 'moved');
      return reply.code(409).send({ error: 'signed_out_meanwhile', message: 'another request signed this install out at the same moment' });
    }
    result('signout', 'detached');
    request.log.info({ userId: install.userId, accountId: install.accountId, newUserId: fresh }, 'install signed out of its account');
    return { userId: fresh, linked: false };
  });

  function refuse(
    log: FastifyBaseLogger,
    reply: FastifyReply,
    route: 'email' | 'verify',
    retryAfter: number,
    message: string,
    address: string,
  ) {
    result(route, 'rate_limited');
    log.warn({ route, retryAfter, ...describeEmail(address) }, `account request refused: ${message}`);
    return limited(reply, retryAfter, message);
  }
}

/** What a log line may say of a failed send: nodemailer's error code and the SMTP reply code, no addresses. */
function smtpFailure(error: unknown): { code: unknown; responseCode: unknown } {
  const e = (error ?? {}) as { code?: unknown; responseCode?: unknown };
  return { code: e.code ?? 'unknown', responseCode: e.responseCode ?? null };
}
