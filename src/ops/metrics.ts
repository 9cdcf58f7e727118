import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Store } from '../db/index.js';
import { queueStats } from './views.js';

/**
 * The service's Prometheus metrics, one registry per service instance. Labels carry bounded
 * values only (event types, outcomes, reasons, route templates): never ids of events, users or
 * customers. Queue gauges are read from the database at scrape time, so they are true across
 * instances.
 */
export function createMetrics(store?: Store) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const metrics = {
    registry,
    webhookEvents: new Counter({
      name: 'stripe_webhook_events_received_total',
      help: 'Webhook deliveries by event type and intake outcome (stored, duplicate, rejected) and, when rejected, the reason',
      labelNames: ['type', 'outcome', 'reason'] as const,
      registers,
    }),
    signatureFailures: new Counter({
      name: 'stripe_webhook_signature_failures_total',
      help: 'Webhook deliveries refused because the Stripe-Signature did not verify, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    httpResponses: new Counter({
      name: 'http_responses_total',
      help: 'Every HTTP answer, by route pattern ("none" when refused before routing) and status code',
      labelNames: ['route', 'status'] as const,
      registers: [registry],
    }),
    apiVersionMismatches: new Counter({
      name: 'stripe_webhook_api_version_mismatch_total',
      help: 'Stored events whose api_version differs from the version this service pins',
      labelNames: ['api_version'] as const,
      registers,
    }),
    processingAttempts: new Counter({
      name: 'stripe_event_processing_attempts_total',
      help: 'Processing attempts of stored events by type and outcome (applied, ignored, failed, dead, lease_lost)',
      labelNames: ['type', 'outcome'] as const,
      registers,
    }),
    processingFailures: new Counter({
      name: 'stripe_event_processing_failures_total',
      help: 'Processing attempts that failed (to be retried, or dead), by event type',
      labelNames: ['type'] as const,
      registers,
    }),
    processingDuration: new Histogram({
      name: 'stripe_event_processing_duration_seconds',
      help: 'Time to apply one stored event, by event type',
      labelNames: ['type'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    entitlementChecks: new Counter({
      name: 'entitlement_checks_total',
      help: 'Entitlement checks (GET /v1/entitlements and the premium guard) by result',
      labelNames: ['result'] as const,
      registers,
    }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, route template and status code',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    reconcileDifferences: new Counter({
      name: 'stripe_reconcile_differences_total',
      help: 'Differences reconcile found between a stored subscription and Stripe, by field (missing: no record at all)',
      labelNames: ['field'] as const,
      registers,
    }),
    reconcileRepairs: new Counter({
      name: 'stripe_reconcile_repairs_total',
      help: 'Records reconcile rewrote from Stripe (repaired), or left because they changed after the read (newer)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    backfilledEvents: new Counter({
      name: 'stripe_backfill_events_total',
      help: 'Events backfill read from Stripe, by outcome (stored: it had been missed; duplicate: already stored)',
      labelNames: ['outcome'] as const,
      registers,
    }),
  };
  if (store) registerQueueGauges(registry, store);
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;

function registerQueueGauges(registry: Registry, store: Store): void {
  // One query per scrape, shared by the gauges below.
  let pending: Promise<Awaited<ReturnType<typeof queueStats>> | undefined> | undefined;
  const read = () => {
    pending ??= queueStats(store.db)
      .catch(() => undefined)
      .finally(() => setTimeout(() => (pending = undefined), 0));
    return pending;
  };
  new Gauge({
    name: 'stripe_webhook_events',
    help: 'Stored webhook events by processing status (pending, processing, failed, dead, applied, ignored)',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const stats = await read();
      if (!stats) return;
      for (const status of ['pending', 'processing', 'failed', 'dead', 'applied', 'ignored'] as const) this.set({ status }, stats.byStatus[status] ?? 0);
    },
  });
  new Gauge({
    name: 'stripe_webhook_oldest_pending_event_age_seconds',
    help: 'Age of the oldest event waiting to be applied (pending, processing or failed), 0 when none',
    registers: [registry],
    async collect() {
      const stats = await read();
      if (stats) this.set(stats.oldestPendingAgeSeconds ?? 0);
    },
  });
  new Gauge({
    name: 'stripe_webhook_last_event_received_timestamp_seconds',
    help: 'When the last webhook event was stored (unix seconds), 0 when none',
    registers: [registry],
    async collect() {
      const stats = await read();
      if (stats) this.set(stats.lastReceivedAt === null ? 0 : stats.lastReceivedAt / 1000);
    },
  });
  new Gauge({
    name: 'stripe_webhook_database_up',
    help: '1 when the database answered the last scrape, 0 when it did not',
    registers: [registry],
    async collect() {
      this.set((await read()) ? 1 : 0);
    },
  });
}
