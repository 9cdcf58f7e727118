import { parseArgs } from 'node:util';
import { createMetrics } from '../../ops/index.js';
import type { CliCommand } from '../../ops/commands/types.js';
import { terminalProgress } from '../progress.js';
import { reconcile as runReconcile } from '../reconcile.js';
import { withStripe } from './stripe-from-config.js';

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
          console.log(`${dryRun ? 'differs' : 'repairing'} ${id}: ${differences.map((d) => `${d.field} stored=${JSON.stringify(d.stored)} stripe=${JSON.stringify(d.stripe)}`).join('; ')}`),
        onFailure: (id, error) => console.error(`could not repair ${id}: ${error instanceof Error ? error.message : String(error)}`),
      });
      console.log(
        `reconcile${dryRun ? ' (dry run)' : ''}: ${counts.checked} subscription(s) checked, ${counts.different} different, ${counts.repaired} repaired, ${counts.newer} changed since read, ${counts.failed} failed`,
      );
      return counts.failed > 0 ? 1 : 0;
    });
  },
};
