import { createServer } from 'node:http';
import Stripe from 'stripe';
import { openStore } from '../../src/db/index.js';
import { GroupCommit, webhookEventWriter } from '../../src/webhooks/group-commit.js';
import { readEnvelope } from '../../src/webhooks/index.js';
import { asStored } from '../../src/webhooks/store-event.js';

/**
 * Diagnostic baseline for intake: the floor (node:http, `constructEvent`) plus the service's own
 * durable, deduplicating write (its group commit, on the same database). No framework, hooks,
 * logs or metrics: what storing the event alone allows.
 */
const secret = process.env.STRIPE_WEBHOOK_SECRET!;
const store = await openStore(process.env.DATABASE_URL!);
const groupCommit = new GroupCommit(webhookEventWriter(store));

createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    if (request.method !== 'POST') {
      response.writeHead(200).end();
      return;
    }
    const raw = Buffer.concat(chunks);
    let row;
    try {
      row = readEnvelope(Stripe.webhooks.constructEvent(raw, String(request.headers['stripe-signature']), secret), raw, Date.now());
    } catch {
      row = undefined;
    }
    if (!row) {
      response.writeHead(400).end();
      return;
    }
    groupCommit.store(asStored(row)).then(
      (outcome) => response.writeHead(200, { 'content-type': 'application/json' }).end(outcome === 'stored' ? '{"received":true}' : '{"received":true,"duplicate":true}'),
      () => response.writeHead(503).end(),
    );
  });
}).listen(Number(process.env.PORT), '127.0.0.1');
