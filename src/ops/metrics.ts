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
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) =>
    new Histogram<L>({ name, help, labelNames, buckets, registers: [registry] });
  const metrics = {
    registry,
    webhookEvents: counter(
      'stripe_webhook_events_received_total',
      'Webhook deliveries by event type and intake outcome (stored, duplicate, rejected, livemode_mismatch) and, when rejected, the reason',
      ['type', 'outcome', 'reason'],
    ),
    accountRequests: counter(
      'account_requests_total',
      "Restore-by-email requests by route (email, verify, signout) and result (sent, send_failed, rate_limited, a refused code's reason, linked_<how the account was found>, detached)",
      ['route', 'result'],
    ),
    usageConsumptions: counter(
      'usage_consumptions_total',
      'Usage consumptions (POST /v1/usage/:feature) by configured feature and result (allowed, refused, replayed)',
      ['feature', 'result'],
    ),
    trialStarts: counter(
      'trial_starts_total',
      'POST /v1/trial answers by result (started, trial_used, already_subscribed, email_required)',
      ['result'],
    ),
    dashboardSignIns: counter('dashboard_sign_ins_total', 'Dashboard sign-ins by result (signed_in, refused: a wrong admin token)', [
      'result',
    ]),
    dashboardRefusals: counter(
      'dashboard_refusals_total',
      'Dashboard form posts refused, by reason (cross_origin: a foreign Origin or none; csrf: a missing or wrong CSRF token)',
      ['reason'],
    ),
    signatureFailures: counter(
      'stripe_webhook_signature_failures_total',
      'Webhook deliveries refused because the Stripe-Signature did not verify, by reason',
      ['reason'],
    ),
    httpResponses: counter(
      'http_responses_total',
      'Every HTTP answer, by route pattern ("none" when refused before routing) and status code',
      ['route', 'status'],
    ),
    apiVersionMismatches: counter(
      'stripe_webhook_api_version_mismatch_total',
      'Stored events whose api_version differs from the version this service pins',
      ['api_version'],
    ),
    processingAttempts: counter(
      'stripe_event_processing_attempts_total',
      'Processing attempts of stored events by type and outcome (applied, ignored, failed, dead, lease_lost)',
      ['type', 'outcome'],
    ),
    processingFailures: counter(
      'stripe_event_processing_failures_total',
      'Processing attempts that failed (to be retried, or dead), by event type',
      ['type'],
    ),
    workerYields: counter(
      'sync_worker_yields_total',
      'Times the sync worker waited for a burst of webhook deliveries, by how the wait ended (intake_idle, or limit: the backlog reached WORKER_YIELD_LIMIT)',
      ['ended'],
    ),
    workerYieldSeconds: counter(
      'sync_worker_yield_seconds_total',
      'Time the sync worker spent waiting for bursts of webhook deliveries',
      [],
    ),
    groupFallbacks: counter(
      'sync_group_fallbacks_total',
      'Worker groups that fell back to processing their events one by one, by reason (group_failed: the transaction could not commit; event_failed: events failed inside it)',
      ['reason'],
    ),
    processingDuration: histogram(
      'stripe_event_processing_duration_seconds',
      'Time to apply one stored event, by event type',
      ['type'],
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    ),
    entitlementChecks: counter('entitlement_checks_total', 'Entitlement checks (GET /v1/entitlements and the premium guard) by result', [
      'result',
    ]),
    httpDuration: histogram(
      'http_request_duration_seconds',
      'HTTP request duration by method, route template and status code',
      ['method', 'route', 'status_code'],
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    ),
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
      'Events backfill read from Stripe, by outcome (stored: it had been missed; duplicate: already stored; invalid: not a well-formed event, skipped)',
      ['outcome'],
    ),
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
      for (const status of ['pending', 'processing', 'failed', 'dead', 'applied', 'ignored'] as const)
        this.set({ status }, stats.byStatus[status] ?? 0);
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
