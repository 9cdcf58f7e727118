import { serveVerifiedDeliveries } from './verified-deliveries.js';

/**
 * Baseline "floor": the least a Stripe webhook endpoint can do in Node — read the body, verify the
 * signature with the official package, answer 200. Stores nothing.
 */
serveVerifiedDeliveries((_event, _rawBody, response) => {
  response.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
});
