import { parseArgs } from 'node:util';
import { reconcile as runReconcile, terminalProgress } from '../../billing/index.js';
import { createMetrics } from '../../ops/index.js';
import { withStripe } from './stripe.js';
import type { CliCommand } from './types.js';

/** Compares every subscription in Stripe with its record and repairs differences (`--dry-run`: report only). */
export const reconcile: CliCommand = {
  usage: ['reconcile [--dry-run]      compare every subscription with Stripe and repair differences'],
  async run({ store, config, args }) {
    const { values } = parseArgs({ args, options: { 'dry-run': { type: 'boolean', default: false } } });
    const dryRun = values['dry-run'];
    return withStripe(config, 'reconcile', async (stripe) => {
      const counts = await runReconcile({
        stripe,
        store,
        dryRun,
        metrics: createMetrics(),
        progress: terminalProgress('reconcile'),
        onDifference: (id, differences) =>
          console.log(
            `${dryRun ? 'differs' : 'repairing'} ${id}: ${differences.map((d) => `${d.field} stored=${JSON.stringify(d.stored)} stripe=${JSON.stringify(d.stripe)}`).join('; ')}`,
          ),
        onFailure: (id, error) => console.error(`could not repair ${id}: ${error instanceof Error ? error.message : String(error)}`),
        onRetry: (id, error) => console.error(`repair of ${id} stored again: ${error.message}`),
      });
      console.log(
        `reconcile${dryRun ? ' (dry run)' : ''}: ${counts.checked} subscription(s) checked, ${counts.different} different, ${counts.repaired} repaired, ${counts.newer} changed since read, ${counts.failed} failed`,
      );
      return counts.failed > 0 ? 1 : 0;
    });
  },
};
