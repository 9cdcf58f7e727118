import { createServer } from 'node:http';

/** Baseline for entitlement checks: node:http answering a constant entitlement-sized JSON, no database. */
const body = JSON.stringify({
  userId: 'usr_0000000000000000',
  premium: true,
  reason: 'active',
  status: 'active',
  priceId: 'price_1PgafmB7WZ01zgkW6dKueIc5',
  productId: 'prod_QXg1hqf4jFNsqG',
  features: [],
  currentPeriodEnd: '2026-12-27T08:00:20.000Z',
  cancelAtPeriodEnd: false,
  graceUntil: null,
});

createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(body);
}).listen(Number(process.env.PORT), '127.0.0.1');
