import type { FastifyBaseLogger } from 'fastify';
import type Stripe from 'stripe';
import type { Config } from '../config/index.js';
import type { Store } from '../db/index.js';
import type { Metrics } from '../ops/index.js';
import { backfill, startupBackfillSince } from './backfill.js';
import { loggedProgress } from './progress.js';
import { reconcile } from './reconcile.js';
import { describeStripeError } from './stripe-client.js';

export interface BillingJobOptions {
  config: Pick<Config, 'backfillOnStart' | 'reconcileIntervalMs'>;
  stripe: Stripe | undefined;
  store: Store;
  logger: FastifyBaseLogger;
  metrics?: Pick<Metrics, 'reconcileDifferences' | 'reconcileRepairs' | 'backfilledEvents'>;
  /** Called after backfill stored events, to have the worker apply them now. */
  onStored: () => void;
}

/**
 * The worker process's background billing jobs: a backfill at start (BACKFILL_ON_START) and
 * reconcile every RECONCILE_INTERVAL. Failures are logged; the next run tries again.
 */
export function startBillingJobs(options: BillingJobOptions): { stop(): Promise<void> } {
  const { config, stripe, store, logger, metrics } = options;
  if (!stripe) return { stop: async () => {} };
  const running = new Set<Promise<unknown>>();
  const track = (job: Promise<unknown>) => {
    running.add(job);
    void job.finally(() => running.delete(job));
  };
  const log = (counts: object, message: string) => logger.info(counts, message);

  if (config.backfillOnStart) {
    track(
      (async () => {
        const since = await startupBackfillSince(store, Math.floor(Date.now() / 1000));
        const counts = await backfill({
          stripe,
          store,
          since,
          metrics,
          progress: loggedProgress(log, 'start-up backfill'),
          onInvalid: (eventId) => logger.warn({ eventId }, 'start-up backfill skipped an event that is not a well-formed Stripe event'),
        });
        if (counts.stored > 0) options.onStored();
      })().catch((error) => logger.error({ stripe: describeStripeError(error) }, 'start-up backfill failed')),
    );
  }

  let timer: NodeJS.Timeout | undefined;
  if (config.reconcileIntervalMs) {
    let busy = false;
    timer = setInterval(() => {
      if (busy) return;
      busy = true;
      track(
        reconcile({
          stripe,
          store,
          dryRun: false,
          metrics,
          progress: loggedProgress(log, 'reconcile'),
          onDifference: (subscriptionId, differences) =>
            logger.warn({ subscriptionId, differences }, 'reconcile: record differs from Stripe'),
          onFailure: (subscriptionId, error) => logger.error({ subscriptionId, err: error }, 'reconcile: could not repair the record'),
          onRetry: (subscriptionId, error) =>
            logger.warn({ subscriptionId, err: error }, 'reconcile: repair stored again, its customer was linked meanwhile'),
        })
          .catch((error) => logger.error({ stripe: describeStripeError(error) }, 'reconcile failed'))
          .finally(() => (busy = false)),
      );
    }, config.reconcileIntervalMs);
    timer.unref();
  }

  return {
    async stop() {
      clearInterval(timer);
      await Promise.allSettled([...running]);
    },
  };
}
