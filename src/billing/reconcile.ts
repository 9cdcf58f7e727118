import { randomBytes } from 'node:crypto';
import type Stripe from 'stripe';
import type { Store } from '../db/index.js';
import type { Metrics } from '../ops/index.js';
import { parseSubscription, recordFromRow, storeFetchedSubscription } from '../subscriptions/index.js';
import { type Difference, reconcileDifferences } from './decide.js';
import type { Progress } from './progress.js';
import { stripeTimeOf } from './stripe-client.js';

export interface ReconcileCounts {
  checked: number;
  different: number;
  repaired: number;
  /** Different when read, but the record changed after the read (a newer event or read): left as it is. */
  newer: number;
  failed: number;
}

export interface ReconcileOptions {
  stripe: Stripe;
  store: Store;
  /** Only report differences. */
  dryRun: boolean;
  metrics?: Pick<Metrics, 'reconcileDifferences' | 'reconcileRepairs'>;
  onDifference: (subscriptionId: string, differences: Difference[]) => void;
  onFailure: (subscriptionId: string, error: unknown) => void;
  /** Told of a repair stored again because its customer was linked meanwhile. */
  onRetry?: (subscriptionId: string, error: Error) => void;
  progress?: Progress;
  now?: () => number;
  pageSize?: number;
}

/**
 * Compares every subscription in Stripe (`status: "all"`) with its record, one page at a time,
 * so memory stays bounded however many there are. Each difference is reported and counted; unless
 * `dryRun`, the record is rewritten from the page through the sync path of a refetch, whose read
 * time guard leaves records that changed after the page was read.
 */
export async function reconcile(options: ReconcileOptions): Promise<ReconcileCounts> {
  const { stripe, store } = options;
  const now = options.now ?? Date.now;
  const counts: ReconcileCounts = { checked: 0, different: 0, repaired: 0, newer: 0, failed: 0 };
  const runId = `reconcile:${randomBytes(6).toString('hex')}`;
  let startingAfter: string | undefined;
  do {
    const fetchedAt = now();
    const page = await stripe.subscriptions.list({
      status: 'all',
      limit: options.pageSize ?? 100,
      expand: ['data.customer'],
      ...(startingAfter ? { starting_after: startingAfter } : {}),
    });
    const ids = page.data.map((s) => s.id);
    const rows = ids.length ? await store.db.selectFrom('subscriptions').selectAll().where('id', 'in', ids).execute() : [];
    const records = new Map(rows.map((row) => [row.id, recordFromRow(row)]));
    for (const subscription of page.data) {
      counts.checked++;
      try {
        const differences = reconcileDifferences(records.get(subscription.id) ?? null, parseSubscription(subscription));
        if (differences.length === 0) continue;
        counts.different++;
        for (const { field } of differences) options.metrics?.reconcileDifferences.inc({ field });
        options.onDifference(subscription.id, differences);
        if (options.dryRun) continue;
        const cause = { id: runId, type: 'reconcile', created: stripeTimeOf(page, fetchedAt) };
        const onRetry = (error: Error) => options.onRetry?.(subscription.id, error);
        const result = await storeFetchedSubscription(store, subscription, { fetchedAt, cause }, { now, onRetry });
        const outcome = result.changed ? 'repaired' : 'newer';
        counts[outcome]++;
        options.metrics?.reconcileRepairs.inc({ outcome });
      } catch (error) {
        counts.failed++;
        options.onFailure(subscription.id, error);
      }
    }
    options.progress?.update({ ...counts });
    startingAfter = page.has_more ? page.data.at(-1)?.id : undefined;
  } while (startingAfter);
  options.progress?.done({ ...counts });
  return counts;
}
