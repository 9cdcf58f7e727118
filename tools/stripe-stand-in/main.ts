import { existsSync, readFileSync } from 'node:fs';
import { StripeStandIn } from './server.js';

/**
 * `npm run stripe-stand-in`: the Stripe stand-in on 127.0.0.1 for local development.
 *   STAND_IN_PORT (default 12111), WEBHOOK_URL (default http://127.0.0.1:3000/webhooks/stripe),
 *   STRIPE_WEBHOOK_SECRET (default: the local-mode secret in ./data/webhook-secret).
 */
const port = Number(process.env.STAND_IN_PORT ?? 12111);
const webhookUrl = process.env.WEBHOOK_URL ?? 'http://127.0.0.1:3000/webhooks/stripe';
const secretFile = './data/webhook-secret';
const secret = process.env.STRIPE_WEBHOOK_SECRET ?? (existsSync(secretFile) ? readFileSync(secretFile, 'utf8').trim() : undefined);

const standIn = new StripeStandIn();
const url = await standIn.listen(port);
if (secret) standIn.setWebhookTarget({ url: webhookUrl, secret });
console.log(
  [
    `Stripe stand-in listening on ${url}`,
    secret ? `Signed webhooks go to ${webhookUrl}` : 'No STRIPE_WEBHOOK_SECRET and no ./data/webhook-secret: webhooks are not sent',
    'Prices: price_basic, price_pro. Start the service with:',
    `  STRIPE_API_URL=${url} STRIPE_SECRET_KEY=sk_test_standin PRICE_IDS=price_basic,price_pro npm start`,
    'Control: POST /_stand-in/subscriptions/<id>/payment-failed | payment-succeeded, POST /_stand-in/failures {"kind":500|429|"timeout","times":1,"path":"/v1/subscriptions"}',
  ].join('\n'),
);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void standIn.close().then(() => process.exit(0)));
