import { openStore } from '../../src/db/index.js';
import { GroupCommit, webhookEventWriter } from '../../src/webhooks/group-commit.js';
import { readEnvelope } from '../../src/webhooks/index.js';
import { asStored } from '../../src/webhooks/store-event.js';
import { serveVerifiedDeliveries } from './verified-deliveries.js';

/**
 * Diagnostic baseline for intake: the floor plus the service's own durable, deduplicating write
 * (its group commit, on the same database). No framework, hooks, logs or metrics: what storing
 * the event alone allows.
 */
const store = await openStore(process.env.DATABASE_URL!);
const groupCommit = new GroupCommit(webhookEventWriter(store));

serveVerifiedDeliveries((event, rawBody, response) => {
  const row = readEnvelope(event, rawBody, Date.now());
  if (!row) {
    response.writeHead(400).end();
    return;
  }
  groupCommit.store(asStored(row)).then(
    (outcome) =>
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(outcome === 'stored' ? '{"received":true}' : '{"received":true,"duplicate":true}'),
    () => response.writeHead(503).end(),
  );
});
