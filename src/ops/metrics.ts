import { Counter, collectDefaultMetrics, Registry } from 'prom-client';

/** The service's Prometheus metrics, one registry per service instance. Labels carry bounded values only. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    webhookEvents: new Counter({
      name: 'stripe_webhook_events_received_total',
      help: 'Webhook deliveries by event type and intake outcome (stored, duplicate, rejected)',
      labelNames: ['type', 'outcome'] as const,
      registers: [registry],
    }),
    signatureFailures: new Counter({
      name: 'stripe_webhook_signature_failures_total',
      help: 'Webhook deliveries refused because the Stripe-Signature did not verify, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    apiVersionMismatches: new Counter({
      name: 'stripe_webhook_api_version_mismatch_total',
      help: 'Stored events whose api_version differs from the version this service pins',
      labelNames: ['api_version'] as const,
      registers: [registry],
    }),
    reconcileDifferences: new Counter({
      name: 'stripe_reconcile_differences_total',
      help: 'Differences reconcile found between a stored subscription and Stripe, by field (missing: no record at all)',
      labelNames: ['field'] as const,
      registers: [registry],
    }),
    reconcileRepairs: new Counter({
      name: 'stripe_reconcile_repairs_total',
      help: 'Records reconcile rewrote from Stripe (repaired), or left because they changed after the read (newer)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    backfilledEvents: new Counter({
      name: 'stripe_backfill_events_total',
      help: 'Events backfill read from Stripe, by outcome (stored: it had been missed; duplicate: already stored)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
