import express from 'express';
import pg from 'pg';
import Stripe from 'stripe';

/**
 * Baseline "docs-style": the handler Stripe's documentation shows (Express, express.raw,
 * constructEvent), plus what most teams add — one upsert of the subscription per request into
 * PostgreSQL with pg. It neither stores the event nor deduplicates.
 */
const secret = process.env.STRIPE_WEBHOOK_SECRET!;
const stripe = new Stripe('sk_test_baseline_never_used');
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
await pool.query(`create table if not exists docs_subscriptions (
  id text primary key, customer text not null, status text not null, current_period_end bigint, updated_at bigint not null)`);

const app = express();
app.get('/healthz', (_request, response) => {
  response.send('ok');
});
app.post('/webhooks/stripe', express.raw({ type: 'application/json' }), async (request, response) => {
  let event: Stripe.Event;
  try {
    event = stripe.webhooks.constructEvent(request.body, request.headers['stripe-signature'] as string, secret);
  } catch (err) {
    response.status(400).send(`Webhook Error: ${(err as Error).message}`);
    return;
  }
  if (event.type.startsWith('customer.subscription.')) {
    const subscription = event.data.object as Stripe.Subscription;
    await pool.query(
      `insert into docs_subscriptions (id, customer, status, current_period_end, updated_at) values ($1, $2, $3, $4, $5)
       on conflict (id) do update set customer = excluded.customer, status = excluded.status,
         current_period_end = excluded.current_period_end, updated_at = excluded.updated_at`,
      [subscription.id, subscription.customer, subscription.status, subscription.items.data[0]?.current_period_end ?? null, Date.now()],
    );
  }
  response.json({ received: true });
});
app.listen(Number(process.env.PORT), '127.0.0.1');
