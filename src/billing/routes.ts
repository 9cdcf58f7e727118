import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Stripe from 'stripe';
import { z } from 'zod';
import type { Config } from '../config/index.js';
import type { Store } from '../db/index.js';
import { NO_FIELDS, parseInput } from '../http/index.js';
import { storeCompletedCheckout } from '../subscriptions/index.js';
import { type Authenticator, unauthorized } from '../users/index.js';
import { customerOfUser, ensureCustomer, subscriptionStatusesOfUser } from './customers.js';
import { checkoutIdempotencyKey, choosePrice, hasLiveSubscription } from './decide.js';
import { PAGE_HEADERS, type PageName, renderPage } from './pages.js';
import { describeStripeError, stripeTimeOf } from './stripe-client.js';

type BillingSettings = Pick<Config, 'priceIds' | 'defaultPriceId' | 'checkoutSuccessUrl' | 'checkoutCancelUrl' | 'portalReturnUrl'>;

export interface BillingRouteOptions {
  /** Undefined without STRIPE_SECRET_KEY: every billing route then answers 503. */
  stripe: Stripe | undefined;
  store: Store;
  authenticator: Authenticator;
  settings: BillingSettings;
  now?: () => number;
}

const checkoutBody = z.strictObject({ priceId: z.string().min(1).max(255).optional() });

/** A Stripe call failed: logged with Stripe's request id, answered 502 without details. Other errors stay 500s. */
function stripeFailed(reply: FastifyReply, log: FastifyBaseLogger, operation: string, error: unknown) {
  if (!(error instanceof Stripe.errors.StripeError)) throw error;
  log.warn({ operation, stripe: describeStripeError(error) }, 'Stripe request failed');
  return reply.code(502).send({ error: 'stripe_error', message: 'the payment provider did not complete the request; try again shortly' });
}

function sendPage(reply: FastifyReply, name: PageName) {
  const page = renderPage(name);
  return reply.code(page.status).headers(PAGE_HEADERS).send(page.html);
}

/**
 * `POST /v1/billing/checkout`, `POST /v1/billing/portal` (the user's bearer token), and the pages
 * Stripe sends the browser back to: `GET /billing/success`, `/billing/cancel`, `/billing/done`.
 */
export function billingRoutes(app: FastifyInstance, options: BillingRouteOptions): void {
  const { stripe, store, settings } = options;
  const now = options.now ?? Date.now;
  const notConfigured = (reply: FastifyReply) =>
    reply.code(503).send({ error: 'billing_not_configured', message: 'billing is not configured on this server (no STRIPE_SECRET_KEY)' });

  app.post('/v1/billing/checkout', { config: { rateLimit: 'auth' } }, async (request, reply) => {
    if (!stripe) return notConfigured(reply);
    const userId = await options.authenticator.userId(request);
    if (!userId) return unauthorized(reply);
    const body = parseInput(checkoutBody, 'body', request, reply);
    if (!body) return reply;
    const price = choosePrice(body.priceId, settings.priceIds, settings.defaultPriceId);
    if (!price.ok) return reply.code(price.error === 'unknown_price' ? 400 : 503).send({ error: price.error, message: price.message });
    const alreadySubscribed = () =>
      reply.code(409).send({
        error: 'subscription_exists',
        message: 'you already have a subscription; change or cancel it in the Customer Portal',
        portal: '/v1/billing/portal',
      });
    const statuses = await subscriptionStatusesOfUser(store.db, userId);
    if (hasLiveSubscription(statuses)) return alreadySubscribed();

    try {
      const customer = await ensureCustomer(stripe, store, userId, linkRaceLogger(request, userId));
      // A webhook may not have arrived yet: Stripe's own list is the last word.
      if (!customer.created) {
        const listed = await stripe.subscriptions.list({ customer: customer.id, status: 'all', limit: 100 });
        if (hasLiveSubscription(listed.data.map((s) => s.status))) return alreadySubscribed();
      }
      const session = await stripe.checkout.sessions.create(
        {
          mode: 'subscription',
          customer: customer.id,
          client_reference_id: userId,
          line_items: [{ price: price.priceId, quantity: 1 }],
          subscription_data: { metadata: { user_id: userId } },
          success_url: settings.checkoutSuccessUrl,
          cancel_url: settings.checkoutCancelUrl,
        },
        { idempotencyKey: checkoutIdempotencyKey(userId, customer.id, price.priceId, now(), statuses) },
      );
      request.log.info({ userId, customerId: customer.id, priceId: price.priceId, sessionId: session.id }, 'checkout session created');
      return { url: session.url };
    } catch (error) {
      return stripeFailed(reply, request.log, 'checkout', error);
    }
  });

  app.post('/v1/billing/portal', { config: { rateLimit: 'auth' } }, async (request, reply) => {
    if (!stripe) return notConfigured(reply);
    const userId = await options.authenticator.userId(request);
    if (!userId) return unauthorized(reply);
    if (!parseInput(NO_FIELDS, 'body', request, reply)) return reply;
    const customer = await customerOfUser(store.db, userId);
    if (!customer)
      return reply
        .code(404)
        .send({ error: 'no_customer', message: 'this user has no Stripe customer yet; start with POST /v1/billing/checkout' });
    try {
      const session = await stripe.billingPortal.sessions.create({ customer, return_url: settings.portalReturnUrl });
      return { url: session.url };
    } catch (error) {
      return stripeFailed(reply, request.log, 'portal', error);
    }
  });

  app.get<{ Querystring: { session_id?: string } }>('/billing/success', async (request, reply) => {
    if (!stripe) return sendPage(reply, 'not_configured');
    const sessionId = request.query.session_id;
    if (typeof sessionId !== 'string' || !/^cs_[A-Za-z0-9_]{1,250}$/.test(sessionId)) return sendPage(reply, 'invalid_link');
    const fetchedAt = now();
    let session: Stripe.Response<Stripe.Checkout.Session>;
    try {
      session = await stripe.checkout.sessions.retrieve(sessionId, { expand: ['subscription'] });
    } catch (error) {
      if (error instanceof Stripe.errors.StripeInvalidRequestError && error.statusCode === 404) return sendPage(reply, 'unknown_session');
      request.log.warn({ operation: 'checkout success', stripe: describeStripeError(error) }, 'Stripe request failed');
      return sendPage(reply, 'unconfirmed');
    }
    if (session.status !== 'complete' || typeof session.subscription !== 'object' || session.subscription === null)
      return sendPage(reply, 'processing');
    // The read happened above; only the write holds the database.
    let stored: Awaited<ReturnType<typeof storeCompletedCheckout>>;
    try {
      stored = await storeCompletedCheckout(
        store,
        session,
        session.subscription,
        { fetchedAt, stripeTime: stripeTimeOf(session, fetchedAt) },
        { now, onRetry: linkRaceLogger(request, sessionId) },
      );
    } catch (error) {
      // The webhooks still bring the same state.
      request.log.error({ err: error, sessionId }, 'checkout redirect not stored');
      return sendPage(reply, 'unconfirmed');
    }
    request.log.info(
      { sessionId, outcome: stored.outcome, ...(stored.warning ? { warning: stored.warning } : {}) },
      'checkout redirect stored',
    );
    return sendPage(reply, 'subscribed');
  });

  app.get('/billing/cancel', async (_request, reply) => sendPage(reply, 'canceled'));
  app.get('/billing/done', async (_request, reply) => sendPage(reply, 'done'));
}

/** A change stored again because a customer it links was linked by another transaction meanwhile (it then reads that link). */
function linkRaceLogger(request: FastifyRequest, about: string) {
  return (error: Error) =>
    request.log.warn({ about, reason: 'linked_meanwhile', err: error }, 'billing change stored again: a customer was linked meanwhile');
}
