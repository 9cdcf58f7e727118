import { parseArgs } from 'node:util';
import { BACKFILL_LIMIT_SECONDS, backfill as runBackfill, terminalProgress } from '../../billing/index.js';
import { parseDuration } from '../../config/index.js';
import { withStripe } from './stripe.js';
import type { CliCommand } from './types.js';

/** Stores the events Stripe has (of the handled types) that never reached the webhook; the worker applies them. */
export const backfill: CliCommand = {
  usage: ['backfill [--since 72h]     store events from Stripe that webhooks never delivered (at most 30 days back)'],
  async run({ store, config, args }) {
    const { values } = parseArgs({ args, options: { since: { type: 'string', default: '72h' } } });
    const window = parseDuration(values.since);
    if (window === undefined) {
      console.error('--since must be a duration like 72h, 30m or 7d');
      return 2;
    }
    const seconds = Math.min(Math.floor(window / 1000), BACKFILL_LIMIT_SECONDS);
    return withStripe(config, 'backfill', async (stripe) => {
      const counts = await runBackfill({
        stripe,
        store,
        since: Math.floor(Date.now() / 1000) - seconds,
        progress: terminalProgress('backfill'),
        onInvalid: (eventId) => console.error(`backfill: skipped event ${JSON.stringify(eventId ?? null)}: not a well-formed Stripe event`),
      });
      console.log(
        `backfill: ${counts.seen} event(s) read from Stripe, ${counts.stored} stored, ${counts.duplicates} already stored, ${counts.invalid} invalid`,
      );
      return 0;
    });
  },
};
