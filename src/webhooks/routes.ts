import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Stripe from 'stripe';
import type { Store } from '../db/index.js';
import type { Metrics } from '../ops/index.js';
import { isHandledEventType } from '../subscriptions/index.js';
import { readEnvelope } from './envelope.js';
import { GroupCommit, webhookEventWriter } from './group-commit.js';
import { asStored } from './store-event.js';
import { verifyDelivery } from './verify.js';

const WEBHOOK_BODY_LIMIT = 1024 * 1024;
/** A genuine header is about 150 bytes, a few hundred during a rotation. */
const SIGNATURE_HEADER_LIMIT = 4096;
/** The API version events are expected in (the one the `stripe` package pins); others are handled and counted. */
const PINNED_API_VERSION = Stripe.API_VERSION;

export interface WebhookOptions {
  store: Store;
  metrics: Metrics;
  secrets: readonly string[];
  /** `livemode` every event must have (from the Stripe key's mode), or undefined to accept both. */
  expectedLivemode: boolean | undefined;
  /** Called after an event is durably stored, to start processing it. */
  onStored: () => void;
  /** Counts the deliveries in flight, for the worker to yield to (server.ts). */
  load: IntakeLoad;
}

/**
 * Whether intake is in a burst: two or more deliveries in flight at once, now or within the last
 * BURST_LINGER_MS. The recent past counts because on SQLite a whole batch is stored and answered
 * within one turn of the event loop, so a look at the count between turns finds none in flight
 * even at 64 at once. A lone delivery, however often, leaves the worker its share.
 */
export class IntakeLoad {
  private inFlight = 0;
  private lastOverlapAt = Number.NEGATIVE_INFINITY;

  started(): void {
    if (++this.inFlight >= 2) this.lastOverlapAt = performance.now();
  }

  finished(): void {
    this.inFlight--;
  }

  busy(): boolean {
    return this.inFlight >= 2 || performance.now() - this.lastOverlapAt < BURST_LINGER_MS;
  }
}

const BURST_LINGER_MS = 50;

/**
 * `POST /webhooks/stripe`: verify the signature over the raw bytes, store the event (deduplicated
 * by id), and only then answer 2xx. Anything not stored gets a non-2xx so that Stripe retries.
 */
export async function webhookRoutes(app: FastifyInstance, options: WebhookOptions): Promise<void> {
  const { store, metrics, secrets } = options;
  let versionWarned = false;
  const groupCommit = new GroupCommit(webhookEventWriter(store));

  // The raw bytes, never parsed before verification: any re-serialization would break the signature.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (_request, body, done) => done(null, body));

  app.addHook('onResponse', (_request, reply, done) => {
    if (reply.statusCode === 413) metrics.webhookEvents.inc({ type: 'unknown', outcome: 'rejected', reason: 'payload_too_large' });
    done();
  });

  app.post('/webhooks/stripe', { bodyLimit: WEBHOOK_BODY_LIMIT }, async (request, reply) => {
    options.load.started();
    try {
      return await receive(request, reply);
    } finally {
      options.load.finished();
    }
  });

  async function receive(request: FastifyRequest, reply: FastifyReply) {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const header = request.headers['stripe-signature'];
    // Node joins a repeated header into one value; a genuine delivery never repeats it.
    const headerCount = request.raw.rawHeaders.filter((name, i) => i % 2 === 0 && name.toLowerCase() === 'stripe-signature').length;
    if (Array.isArray(header) || headerCount > 1) {
      metrics.signatureFailures.inc({ reason: 'malformed_signature' });
      metrics.webhookEvents.inc({ type: 'unknown', outcome: 'rejected', reason: 'invalid_signature' });
      request.log.warn({ reason: 'malformed_signature' }, 'webhook refused: Stripe-Signature header sent more than once');
      return reply.code(400).send({ error: 'invalid_signature', message: 'Stripe-Signature header sent more than once' });
    }
    if (header && header.length > SIGNATURE_HEADER_LIMIT) {
      metrics.signatureFailures.inc({ reason: 'oversized_signature' });
      request.log.warn({ reason: 'oversized_signature', length: header.length }, 'webhook refused: Stripe-Signature header is too large');
      return reply
        .code(431)
        .send({ error: 'invalid_signature', message: `Stripe-Signature header is longer than ${SIGNATURE_HEADER_LIMIT} bytes` });
    }
    const verification = verifyDelivery(raw, header, secrets);
    if (!verification.ok) {
      if (verification.reason === 'not_json') {
        metrics.webhookEvents.inc({ type: 'unknown', outcome: 'rejected', reason: 'not_a_stripe_event' });
        return reply.code(400).send({ error: 'not_a_stripe_event', message: verification.message });
      }
      metrics.signatureFailures.inc({ reason: verification.reason });
      metrics.webhookEvents.inc({ type: 'unknown', outcome: 'rejected', reason: 'invalid_signature' });
      request.log.warn({ reason: verification.reason, likelyCause: verification.likelyCause }, `webhook refused: ${verification.message}`);
      return reply.code(400).send({ error: 'invalid_signature', message: verification.message });
    }

    const row = readEnvelope(verification.event, raw, Date.now());
    if (!row) {
      metrics.webhookEvents.inc({ type: 'unknown', outcome: 'rejected', reason: 'not_a_stripe_event' });
      return reply
        .code(400)
        .send({ error: 'not_a_stripe_event', message: 'body must be a Stripe event with "object":"event", "id" and "type"' });
    }
    if (options.expectedLivemode !== undefined && (row.livemode === 1) !== options.expectedLivemode) {
      // A test endpoint's events reaching a live service (or the reverse) is a misconfiguration: fail loudly.
      metrics.webhookEvents.inc({ type: row.type, outcome: 'livemode_mismatch' });
      request.log.warn(
        { eventId: row.id, livemode: row.livemode === 1 },
        'webhook refused: event mode differs from the STRIPE_SECRET_KEY mode',
      );
      const expected = options.expectedLivemode ? 'live' : 'test';
      return reply.code(400).send({ error: 'livemode_mismatch', message: `this service only accepts ${expected}-mode events` });
    }
    let stored: boolean;
    try {
      stored = (await groupCommit.store(asStored(row))) === 'stored';
    } catch (error) {
      metrics.webhookEvents.inc({ type: row.type, outcome: 'rejected', reason: 'storage_unavailable' });
      request.log.error(
        { err: error, eventId: row.id, type: row.type, outcome: 'storage_unavailable', durationMs: reply.elapsedTime },
        'webhook not stored: database unavailable; answering 503 so Stripe retries',
      );
      return reply.code(503).send({ error: 'storage_unavailable', message: 'event not stored; retry later' });
    }

    metrics.webhookEvents.inc({ type: row.type, outcome: stored ? 'stored' : 'duplicate' });
    if (stored && row.api_version && row.api_version !== PINNED_API_VERSION) {
      metrics.apiVersionMismatches.inc({ api_version: row.api_version });
      if (!versionWarned) {
        versionWarned = true;
        request.log.warn(
          { eventId: row.id, apiVersion: row.api_version, pinned: PINNED_API_VERSION },
          "event API version differs from the pinned one; both subscription shapes are handled, but consider updating the endpoint's version",
        );
      }
    }
    // Said by the request's one log line, when the answer is sent (src/http/index.ts).
    request.logLine = { msg: 'webhook received', facts: { eventId: row.id, type: row.type, outcome: stored ? 'stored' : 'duplicate' } };
    if (stored && isHandledEventType(row.type)) options.onStored();
    return stored ? { received: true } : { received: true, duplicate: true };
  }
}
