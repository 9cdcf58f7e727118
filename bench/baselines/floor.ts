import { createServer } from 'node:http';
import Stripe from 'stripe';

/**
 * Baseline "floor": the least a Stripe webhook endpoint can do in Node — read the body, verify the
 * signature with the official package, answer 200. Stores nothing.
 */
const secret = process.env.STRIPE_WEBHOOK_SECRET!;
const stripe = new Stripe('sk_test_baseline_never_used');

createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    if (request.method !== 'POST') {
      response.writeHead(200).end();
      return;
    }
    try {
      stripe.webhooks.constructEvent(Buffer.concat(chunks), String(request.headers['stripe-signature']), secret);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
    } catch {
      response.writeHead(400).end();
    }
  });
}).listen(Number(process.env.PORT), '127.0.0.1');
