import { createServer, type ServerResponse } from 'node:http';
import Stripe from 'stripe';

/**
 * The least a Stripe webhook endpoint can do in Node, shared by the floor and store-only: read the
 * body, verify the signature with the official package (400 when it fails), then hand the event
 * on. Any other method is answered 200 (the readiness probe's GET).
 */
export function serveVerifiedDeliveries(handle: (event: Stripe.Event, rawBody: Buffer, response: ServerResponse) => void): void {
  const secret = process.env.STRIPE_WEBHOOK_SECRET!;
  createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method !== 'POST') {
        response.writeHead(200).end();
        return;
      }
      const rawBody = Buffer.concat(chunks);
      let event: Stripe.Event;
      try {
        event = Stripe.webhooks.constructEvent(rawBody, String(request.headers['stripe-signature']), secret);
      } catch {
        response.writeHead(400).end();
        return;
      }
      handle(event, rawBody, response);
    });
  }).listen(Number(process.env.PORT), '127.0.0.1');
}
