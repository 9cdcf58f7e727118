import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/databases.js';
import { deliver, deliverAll, envelope, newId, nowSeconds, subscriptionEvent } from '../helpers/events.js';
import { runProcess } from '../helpers/processes.js';
import { useService } from '../helpers/service.js';
import { createUser, getEntitlement, premiumPing } from '../helpers/users.js';

const RULES = new URL('../../ops/prometheus/', import.meta.url).pathname;

async function scrape(baseUrl: string): Promise<string> {
  const response = await fetch(`${baseUrl}/metrics`);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  return response.text();
}

/** Sample lines as {name, labels, value}. */
function samples(text: string) {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (.+)$/.exec(line)!;
      const labels = Object.fromEntries([...(match[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
      return { name: match[1]!, labels, value: Number(match[4]) };
    });
}

function value(text: string, name: string, labels: Record<string, string> = {}): number {
  return samples(text)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

describe.each(BACKENDS)('GET /metrics on $name', (backend) => {
  const context = useService(backend);

  it('exports every required metric, with values that follow what happened', async () => {
    const user = await createUser(context.svc.baseUrl);
    const good = subscriptionEvent(
      'created',
      { id: newId('sub'), customer: newId('cus'), status: 'active', userId: user.userId },
      nowSeconds(),
    );
    const broken = envelope('customer.subscription.updated', { object: 'subscription', id: newId('sub') }, nowSeconds());
    await deliverAll(context.svc.baseUrl, [good, good, broken]);
    await deliver(context.svc.baseUrl, good, { secret: 'whsec_a_wrong_secret_for_the_metrics_test' });
    await context.svc.settle();
    await getEntitlement(context.svc.baseUrl, user.token);
    await premiumPing(context.svc.baseUrl, 'not-a-valid-token-but-long-enough');

    const text = await scrape(context.svc.baseUrl);
    expect(value(text, 'stripe_webhook_events_received_total', { type: 'customer.subscription.created', outcome: 'stored' })).toBe(1);
    expect(value(text, 'stripe_webhook_events_received_total', { type: 'customer.subscription.created', outcome: 'duplicate' })).toBe(1);
    expect(value(text, 'stripe_webhook_events_received_total', { outcome: 'rejected', reason: 'invalid_signature' })).toBe(1);
    expect(value(text, 'stripe_webhook_signature_failures_total', { reason: 'signature_mismatch' })).toBe(1);
    expect(value(text, 'stripe_event_processing_attempts_total', { type: 'customer.subscription.created', outcome: 'applied' })).toBe(1);
    expect(value(text, 'stripe_event_processing_attempts_total', { type: 'customer.subscription.updated', outcome: 'dead' })).toBe(1);
    expect(value(text, 'stripe_event_processing_failures_total', { type: 'customer.subscription.updated' })).toBe(1);
    expect(value(text, 'stripe_event_processing_duration_seconds_count')).toBe(2);
    expect(value(text, 'stripe_webhook_events', { status: 'applied' })).toBe(1);
    expect(value(text, 'stripe_webhook_events', { status: 'dead' })).toBe(1);
    expect(value(text, 'stripe_webhook_events', { status: 'pending' })).toBe(0);
    expect(value(text, 'stripe_webhook_oldest_pending_event_age_seconds')).toBe(0);
    expect(value(text, 'stripe_webhook_last_event_received_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(value(text, 'stripe_webhook_database_up')).toBe(1);
    expect(value(text, 'entitlement_checks_total', { result: 'premium' })).toBe(1);
    expect(value(text, 'entitlement_checks_total', { result: 'unauthorized' })).toBe(1);
    expect(value(text, 'http_request_duration_seconds_count', { route: '/webhooks/stripe', method: 'POST', status_code: '200' })).toBe(3);
    expect(value(text, 'http_request_duration_seconds_count', { route: '/v1/entitlements' })).toBe(1);
    expect(value(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
  });

  it('no label carries an event, user, customer or subscription id', async () => {
    await fetch(`${context.svc.baseUrl}/v1/nope/usr_abcdef`);
    const text = await scrape(context.svc.baseUrl);
    const labelValues = samples(text).flatMap((s) => Object.values(s.labels));
    expect(labelValues.filter((v) => /(evt|usr|cus|sub|in)_[A-Za-z0-9]/.test(v))).toEqual([]);
  });

  it('every expression of ops/prometheus/alerts.yml selects metrics the service exports', async () => {
    const exported = new Set(
      (await scrape(context.svc.baseUrl))
        .split('\n')
        .filter((l) => l.startsWith('# TYPE '))
        .flatMap((l) => {
          const [, , name, type] = l.split(' ');
          return type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!];
        }),
    );
    const rules = readFileSync(`${RULES}alerts.yml`, 'utf8');
    const expressions = [...rules.matchAll(/expr: (>\n((?:\s{10}.*\n)+)|.*)/g)].map((m) => (m[2] ?? m[1]!).trim());
    expect(expressions.length).toBeGreaterThanOrEqual(6);
    const PROMQL_WORDS = new Set(['max', 'min', 'sum', 'rate', 'increase', 'time', 'by', 'and', 'or']);
    for (const expression of expressions) {
      const names = [...expression.replace(/\{[^}]*\}|\[[^\]]*\]/g, '').matchAll(/[a-z_][a-z0-9_]*/g)]
        .map((m) => m[0])
        .filter((n) => !PROMQL_WORDS.has(n));
      expect(names.length, expression).toBeGreaterThan(0);
      for (const name of names) expect(exported, `${name} in ${expression}`).toContain(name);
    }
  });
});

describe('the Prometheus rule files', () => {
  it('pass `promtool check rules` and their unit tests (`promtool test rules`)', async () => {
    const checked = await runProcess('promtool', ['check', 'rules', `${RULES}alerts.yml`]);
    expect(checked.stdout, checked.stderr).toMatch(/SUCCESS: 7 rules found/);
    const tested = await runProcess('promtool', ['test', 'rules', `${RULES}alerts.test.yml`]);
    expect(tested.stdout, tested.stderr).toMatch(/SUCCESS/);
  });
});
