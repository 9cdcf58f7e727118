import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { storedEvent } from '../../src/ops/views.js';
import { BACKENDS } from '../helpers/databases.js';
import { deliver, envelope, newId, nowSeconds, serialize, signatureHeader, subscriptionEvent } from '../helpers/events.js';
import { metricValue } from '../helpers/metrics.js';
import { rawRequest } from '../helpers/raw-http.js';
import { TEST_SECRET, useService } from '../helpers/service.js';

const OLD_SECRET = 'whsec_the_previous_secret_still_rolling_out';
const OTHER_SECRET = 'whsec_some_other_endpoints_secret_0000000';

/** Every answer of `POST /webhooks/stripe`, on each backend. */
describe.each(BACKENDS)('webhook intake on $name', (backend) => {
  const context = useService(backend, { config: { webhookSecrets: [TEST_SECRET, OLD_SECRET] } });

  function anEvent() {
    return subscriptionEvent('updated', { id: newId('sub'), customer: newId('cus'), status: 'active' }, nowSeconds());
  }

  async function storedCount(id: string): Promise<number> {
    const rows = await context.svc.store.db.selectFrom('webhook_events').select('id').where('id', '=', id).execute();
    return rows.length;
  }

  async function storedTotal(): Promise<number> {
    return (await context.svc.store.db.selectFrom('webhook_events').select('id').execute()).length;
  }

  async function signatureFailures(reason: string): Promise<number> {
    return metricValue(context.svc.baseUrl, `stripe_webhook_signature_failures_total{reason="${reason}"}`);
  }

  it('accepts a correctly signed event: 200 {received:true}, stored', async () => {
    const event = anEvent();
    expect(await deliver(context.svc.baseUrl, event)).toEqual({ status: 200, body: { received: true } });
    expect(await storedCount(event.id)).toBe(1);
  });

  it('accepts an event signed with any configured secret (rotation)', async () => {
    const event = anEvent();
    expect((await deliver(context.svc.baseUrl, event, { secret: OLD_SECRET })).status).toBe(200);
    expect(await storedCount(event.id)).toBe(1);
  });

  it('accepts a header with several v1 signatures of which one matches', async () => {
    const event = anEvent();
    const payload = serialize(event);
    const t = nowSeconds();
    const good = createHmac('sha256', TEST_SECRET).update(`${t}.${payload}`).digest('hex');
    const bad = createHmac('sha256', OTHER_SECRET).update(`${t}.${payload}`).digest('hex');
    const header = `t=${t},v1=${bad},v1=${good},v0=${bad}`;
    const result = await deliver(context.svc.baseUrl, event, {
      body: payload,
      headers: { 'content-type': 'application/json', 'stripe-signature': header },
    });
    expect(result.status).toBe(200);
    expect(await storedCount(event.id)).toBe(1);
  });

  describe('refuses and stores nothing', () => {
    const cases: [string, string, (payload: string) => { body?: string; header?: string | null }][] = [
      ['unsigned', 'missing_signature', () => ({ header: null })],
      ['signed with another secret', 'signature_mismatch', (p) => ({ header: signatureHeader(p, { secret: OTHER_SECRET }) })],
      ['signed over a different body', 'signature_mismatch', (p) => ({ header: signatureHeader(p.replace('"active"', '"trialing"')) })],
      [
        'changed by one byte after signing',
        'signature_mismatch',
        (p) => ({ header: signatureHeader(p), body: p.replace('"active"', '"activf"') }),
      ],
      [
        're-serialized (compact) after signing',
        'signature_mismatch',
        (p) => ({ header: signatureHeader(p), body: JSON.stringify(JSON.parse(p)) }),
      ],
      ['with a v0 signature only', 'malformed_signature', (p) => ({ header: signatureHeader(p).replace('v1=', 'v0=') })],
      ['with a scheme-less header', 'malformed_signature', () => ({ header: 'deadbeef' })],
      [
        'with a timestamp outside the tolerance',
        'stale_timestamp',
        (p) => ({ header: signatureHeader(p, { timestamp: nowSeconds() - 301 }) }),
      ],
    ];
    it.each(cases)('%s: 400 (%s)', async (_name, reason, make) => {
      const event = anEvent();
      const payload = serialize(event);
      const { body, header } = make(payload);
      const before = await signatureFailures(reason);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (header) headers['stripe-signature'] = header;
      const result = await deliver(context.svc.baseUrl, event, { body: body ?? payload, headers });
      expect(result.status).toBe(400);
      expect(result.body.error).toBe('invalid_signature');
      expect(await storedCount(event.id)).toBe(0);
      expect(await signatureFailures(reason)).toBe(before + 1);
    });

    it('a Stripe-Signature header sent twice: 400', async () => {
      const event = anEvent();
      const payload = serialize(event);
      const header = signatureHeader(payload);
      // fetch would fold the two into one value; node:http sends two header lines.
      const answer = await rawRequest(`${context.svc.baseUrl}/webhooks/stripe`, {
        headers: { 'content-type': 'application/json', 'stripe-signature': [header, header] },
        body: payload,
      });
      expect(answer.status).toBe(400);
      expect(await storedCount(event.id)).toBe(0);
    });

    // A genuine header is ~150 bytes. Past 4 KiB the route refuses it; past 16 KiB of headers
    // Node's parser does, before routing. Both carry a matching v1 signature among the padding.
    it.each([
      ['8 KiB', 8 * 1024, 'stripe_webhook_signature_failures_total{reason="oversized_signature"}'],
      ['64 KiB', 64 * 1024, 'http_responses_total{route="none",status="431"}'],
    ])('a %s Stripe-Signature header: 431 with a JSON error, counted', async (_size, bytes, sample) => {
      const event = anEvent();
      const payload = serialize(event);
      const header = `${signatureHeader(payload)},v1=${'0'.repeat(bytes)}`;
      const before = await metricValue(context.svc.baseUrl, sample);
      const answer = await rawRequest(`${context.svc.baseUrl}/webhooks/stripe`, {
        headers: { 'content-type': 'application/json', 'stripe-signature': header },
        body: payload,
      });
      expect(answer.status).toBe(431);
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(answer.body).error).toMatch(/^(invalid_signature|headers_too_large)$/);
      expect(await storedCount(event.id)).toBe(0);
      expect(await metricValue(context.svc.baseUrl, sample)).toBe(before + 1);
      expect((await fetch(`${context.svc.baseUrl}/healthz`)).status).toBe(200);
    });

    it.each([
      ['not JSON', 'this is not json'],
      ['JSON but not an object', '"evt_1"'],
      ['missing id', serialize({ object: 'event', type: 'customer.updated', created: 1, data: { object: {} } })],
      ['missing type', serialize({ id: 'evt_no_type', object: 'event', created: 1, data: { object: {} } })],
      ['object is not "event"', serialize({ id: 'evt_not_event', object: 'customer', type: 'customer.updated', created: 1 })],
      [
        'an id with a control character',
        serialize({ id: 'evt_bell\u0007', object: 'event', type: 'customer.updated', created: 1, data: { object: {} } }),
      ],
    ])('a validly signed body that is not a Stripe event (%s): 400', async (_name, body) => {
      const before = await storedTotal();
      const result = await deliver(context.svc.baseUrl, undefined, {
        body,
        headers: { 'content-type': 'application/json', 'stripe-signature': signatureHeader(body) },
      });
      expect(result.status).toBe(400);
      expect(result.body.error).toBe('not_a_stripe_event');
      expect(await storedTotal()).toBe(before);
    });

    it('a body over 1 MiB: 413, counted', async () => {
      const event = { ...anEvent(), padding: 'x'.repeat(1024 * 1024) };
      const sample = 'http_responses_total{route="/webhooks/stripe",status="413"}';
      const before = await metricValue(context.svc.baseUrl, sample);
      const result = await deliver(context.svc.baseUrl, event);
      expect(result.status).toBe(413);
      expect(result.body.error).toBe('payload_too_large');
      expect(await storedCount(event.id)).toBe(0);
      expect(await metricValue(context.svc.baseUrl, sample)).toBe(before + 1);
    });
  });

  it('a body just under 1 MiB is accepted', async () => {
    const base = anEvent();
    const padding = 'x'.repeat(1024 * 1024 - serialize({ ...base, padding: '' }).length - 10);
    const event = { ...base, padding };
    expect((await deliver(context.svc.baseUrl, event)).status).toBe(200);
  });

  it('logs a signature failure with its likely cause, never the secret or the header', async () => {
    const event = anEvent();
    const payload = serialize(event);
    const header = signatureHeader(payload, { secret: OTHER_SECRET });
    await deliver(context.svc.baseUrl, event, {
      body: payload,
      headers: { 'content-type': 'application/json', 'stripe-signature': header },
    });
    const line = context.svc.logs.find((l) => l.reason === 'signature_mismatch' && typeof l.likelyCause === 'string');
    expect(line?.likelyCause).toMatch(/wrong endpoint's secret|stripe listen/);
    const all = JSON.stringify(context.svc.logs);
    for (const secret of [TEST_SECRET, OLD_SECRET, OTHER_SECRET, header.split('v1=')[1]!]) expect(all).not.toContain(secret);
  });

  it('stores unhandled types as ignored and answers 200', async () => {
    const event = envelope('payment_intent.succeeded', { id: newId('pi'), object: 'payment_intent' }, nowSeconds());
    expect((await deliver(context.svc.baseUrl, event)).status).toBe(200);
    const row = await context.svc.store.db.selectFrom('webhook_events').selectAll().where('id', '=', event.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('ignored');
  });

  it('stores an odd but signed event, answers 200, and records why it cannot be applied', async () => {
    const broken = envelope('customer.subscription.updated', { object: 'subscription', id: newId('sub'), status: 'zombie' }, nowSeconds());
    const good = anEvent();
    expect((await deliver(context.svc.baseUrl, broken)).status).toBe(200);
    expect((await deliver(context.svc.baseUrl, good)).status).toBe(200);
    await context.svc.settle();
    const byId = {
      [broken.id]: await storedEvent(context.svc.store.db, broken.id),
      [good.id]: await storedEvent(context.svc.store.db, good.id),
    };
    expect(byId[broken.id]!.status).toBe('dead');
    expect(byId[broken.id]!.last_error).toMatch(/data\.object\.(status|customer)/);
    expect(byId[broken.id]!.payload).toBe(serialize(broken));
    expect(byId[good.id]!.status).toBe('applied');
  });

  it('counts and warns once about events of another API version', async () => {
    const legacy = () =>
      subscriptionEvent('updated', { id: newId('sub'), customer: newId('cus'), status: 'active', shape: 'legacy' }, nowSeconds());
    await deliver(context.svc.baseUrl, legacy());
    await deliver(context.svc.baseUrl, legacy());
    const metrics = await (await fetch(`${context.svc.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/stripe_webhook_api_version_mismatch_total\{api_version="2020-03-02"\} [2-9]/);
    expect(context.svc.logs.filter((l) => l.apiVersion === '2020-03-02')).toHaveLength(1);
  });
});

describe.each(BACKENDS)('webhook intake when the database is down, on $name', (backend) => {
  const context = useService(backend);

  it('answers 503 so that Stripe retries, and readyz says so', async () => {
    await context.svc.store.close();
    const event = subscriptionEvent('updated', { id: newId('sub'), customer: newId('cus'), status: 'active' }, nowSeconds());
    const result = await deliver(context.svc.baseUrl, event);
    expect(result.status).toBe(503);
    expect(result.body.error).toBe('storage_unavailable');
    expect((await fetch(`${context.svc.baseUrl}/readyz`)).status).toBe(503);
    expect((await fetch(`${context.svc.baseUrl}/healthz`)).status).toBe(200);
  });
});
