import { Counter, collectDefaultMetrics, Registry } from 'prom-client';

/** The service's Prometheus metrics, one registry per service instance. Labels carry bounded values only. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter({ name, help, labelNames, registers: [registry] });
  return {
    registry,
    webhookEvents: counter('stripe_webhook_events_received_total', 'Webhook deliveries by event type and intake outcome (stored, duplicate, rejected)', ['type', 'outcome']),
    signatureFailures: counter('stripe_webhook_signature_failures_total', 'Webhook deliveries refused because the Stripe-Signature did not verify, by reason', ['reason']),
    apiVersionMismatches: counter('stripe_webhook_api_version_mismatch_total', 'Stored events whose api_version differs from the version this service pins', ['api_version']),
    reconcileDifferences: counter(
      'stripe_reconcile_differences_total',
      'Differences reconcile found between a stored subscription and Stripe, by field (missing: no record at all)',
      ['field'],
    ),
    reconcileRepairs: counter(
      'stripe_reconcile_repairs_total',
      'Records reconcile rewrote from Stripe (repaired), or left because they changed after the read (newer)',
      ['outcome'],
    ),
    backfilledEvents: counter(
      'stripe_backfill_events_total',
      'Events backfill read from Stripe, by outcome (stored: it had been missed; duplicate: already stored)',
      ['outcome'],
    ),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
