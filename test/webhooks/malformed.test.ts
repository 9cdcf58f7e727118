import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { storedEvent } from '../../src/ops/views.js';
import { BACKENDS } from '../helpers/databases.js';
import {
  checkoutCompletedEvent,
  customerEvent,
  deliver,
  entitlementSummaryEvent,
  envelope,
  invoiceEvent,
  newId,
  nowSeconds,
  type StripeEventBody,
  serialize,
  subscriptionEvent,
} from '../helpers/events.js';
import { useService } from '../helpers/service.js';

/** Well-formed events of every handled type, to be broken. */
const BUILDERS: (() => StripeEventBody)[] = [
  () => subscriptionEvent('updated', { id: newId('sub'), customer: newId('cus'), status: 'active', userId: newId('usr') }, nowSeconds()),
  () => subscriptionEvent('created', { id: newId('sub'), customer: newId('cus'), status: 'trialing', shape: 'legacy' }, nowSeconds()),
  () => checkoutCompletedEvent({ customer: newId('cus'), userId: newId('usr'), subscription: newId('sub'), created: nowSeconds() }),
  () => customerEvent('updated', { id: newId('cus'), userId: newId('usr'), created: nowSeconds() }),
  () => customerEvent('deleted', { id: newId('cus'), created: nowSeconds() }),
  () => invoiceEvent('paid', { subscription: newId('sub'), customer: newId('cus'), created: nowSeconds() }),
  () => invoiceEvent('payment_failed', { subscription: newId('sub'), customer: newId('cus'), created: nowSeconds(), shape: 'legacy' }),
  () => entitlementSummaryEvent({ customer: newId('cus'), features: ['a', 'b'], created: nowSeconds() }),
];

/** Every path inside `created` and `data` (the envelope's id, type and object stay intact). */
function mutablePaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [path];
  const children = Object.entries(value).flatMap(([key, child]) =>
    mutablePaths(child, [...path, Array.isArray(value) ? Number(key) : key]),
  );
  return path.length > 0 ? [path, ...children] : children;
}

function mutate(event: StripeEventBody, path: (string | number)[], replacement: unknown | typeof DELETE): void {
  const parent = path.slice(0, -1).reduce<any>((node, key) => node[key], event);
  const key = path[path.length - 1]!;
  if (replacement === DELETE) delete parent[key];
  else parent[key] = replacement;
}
const DELETE = Symbol('delete');

const brokenEvent = fc
  .record({
    build: fc.constantFrom(...BUILDERS),
    mutations: fc.array(
      fc.record({
        pick: fc.nat(),
        replacement: fc.oneof(
          fc.constant(DELETE),
          fc.jsonValue({ maxDepth: 3 }),
          // Control characters and lone surrogates (PostgreSQL text refuses NUL).
          fc.string({ unit: 'binary', maxLength: 8 }),
          fc.constantFrom('zombie', '', -1, 1e308, 2 ** 53, null, [], {}, true),
        ),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  })
  .map(({ build, mutations }) => {
    const event = build();
    for (const { pick, replacement } of mutations) {
      const paths = mutablePaths({ created: event.created, data: event.data });
      if (paths.length > 0) mutate(event, paths[pick % paths.length]!, replacement);
    }
    return event;
  });

/** Correctly signed events whose content is broken: stored, answered 200, failed with a reason, never blocking others. */
describe.each(BACKENDS)('malformed but validly signed events on $name', (backend) => {
  const context = useService(backend);

  async function storedRow(id: string) {
    return storedEvent(context.svc.store.db, id);
  }

  async function deliverAndSettle(event: unknown, body = serialize(event)) {
    const result = await deliver(context.svc.baseUrl, event, { body });
    await context.svc.settle();
    return result;
  }

  // Built as text: JSON.stringify itself cannot go this deep.
  const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  const manyKeys = (count: number) => `{${Array.from({ length: count }, (_, i) => `"k${i}":${i}`).join(',')}}`;
  /** The event serialised as Stripe does, with `"PLACEHOLDER"` replaced by raw JSON text. */
  const bodyWith = (event: unknown, json: string) => serialize(event).replace('"PLACEHOLDER"', () => json);
  const subscription = () => subscriptionEvent('updated', { id: newId('sub'), customer: newId('cus'), status: 'active' }, nowSeconds());

  it.each([
    ['no data', () => ({ ...subscription(), data: undefined }), /^invalid event: data/],
    ['data.object is null', () => ({ ...subscription(), data: { object: null } }), /^invalid event: data\.object/],
    ['created is a string', () => ({ ...subscription(), created: String(nowSeconds()) }), /^invalid event: created/],
    ['an unknown status', () => withObject(subscription(), { status: 'zombie' }), /data\.object\.status/],
    ['items is a string', () => withObject(subscription(), { items: 'many' }), /data\.object\.items/],
    ['a customer id that is a number', () => withObject(subscription(), { customer: 42 }), /data\.object\.customer/],
    [
      'an invoice with a numeric id',
      () => withObject(invoiceEvent('paid', { subscription: newId('sub'), customer: newId('cus'), created: nowSeconds() }), { id: 7 }),
      /data\.object\.id/,
    ],
    [
      'a subscription id with a NUL character',
      () => withObject(subscription(), { id: 'sub_\u0000' }),
      /data\.object\.id: must not contain NUL/,
    ],
    [
      'metadata nested 100 000 deep',
      () => withObject(subscription(), { metadata: { user_id: 'PLACEHOLDER' } }),
      /data\.object\.metadata\.user_id/,
      deepArray(100_000),
    ],
  ])('%s: stored as sent, answered 200, dead with the reason', async (_name, make, reason, splice?: string) => {
    const event = make();
    const body = splice ? bodyWith(event, splice) : serialize(event);
    expect((await deliverAndSettle(event, body)).status).toBe(200);
    const row = await storedRow(event.id);
    expect(row?.payload).toBe(body);
    expect(row?.status).toBe('dead');
    expect(row?.last_error).toMatch(reason);
  });

  it.each([
    ['nested 450 000 deep', deepArray(450_000)],
    ['with 70 000 keys', manyKeys(70_000)],
  ])('an event with an unknown field %s, under 1 MiB: stored as sent and applied', async (_name, json) => {
    const event = { ...subscription(), extra: 'PLACEHOLDER' };
    const body = bodyWith(event, json);
    expect(body.length).toBeGreaterThan(800 * 1024);
    expect(body.length).toBeLessThan(1024 * 1024);
    expect((await deliverAndSettle(event, body)).status).toBe(200);
    const row = await storedRow(event.id);
    expect(row?.payload).toBe(body);
    expect(row?.status).toBe('applied');
  });

  it('an api_version with a control character: stored without it', async () => {
    const event = { ...subscription(), api_version: '2020-03-02\u0000' };
    expect((await deliverAndSettle(event)).status).toBe(200);
    const row = await storedRow(event.id);
    expect([row?.api_version, row?.status]).toEqual([null, 'applied']);
  });

  it('any broken event of any handled type: 200, stored as sent, then applied or failed with a reason', async () => {
    await fc.assert(
      fc.asyncProperty(brokenEvent, async (event) => {
        const body = serialize(event);
        const result = await deliverAndSettle(event, body);
        expect(result).toEqual({ status: 200, body: { received: true } });
        const row = await storedRow(event.id);
        expect(row?.payload).toBe(body);
        expect(['applied', 'ignored', 'dead', 'failed']).toContain(row?.status);
        if (row?.status === 'dead' || row?.status === 'failed') expect(row.last_error).toMatch(/\S/);
      }),
      { numRuns: 150 },
    );
  });

  it('after all of that, a good event is still applied at once', async () => {
    const good = subscription();
    expect((await deliverAndSettle(good)).status).toBe(200);
    expect((await storedRow(good.id))?.status).toBe('applied');
    const stuck = await context.svc.store.db.selectFrom('webhook_events').select('id').where('status', '=', 'pending').execute();
    expect(stuck).toEqual([]);
  });
});

function withObject(event: StripeEventBody, changes: Record<string, unknown>): StripeEventBody {
  return envelope(event.type, { ...event.data.object, ...changes }, event.created, 'current', event.id);
}
