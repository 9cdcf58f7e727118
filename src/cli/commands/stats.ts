import { parseArgs } from 'node:util';
import { statsView } from '../../ops/index.js';
import { printFields, printJson } from './output.js';
import type { CliCommand } from './types.js';

/** `stats`: events by status, the oldest pending event's age, the last event received. */
export const stats: CliCommand = {
  usage: ['stats [--json]'],
  async run({ store, args }) {
    const { values } = parseArgs({ args, options: { json: { type: 'boolean' } } });
    const view = await statsView(store.db);
    if (values.json) printJson(view);
    else
      printFields({
        ...view.events,
        total: view.total,
        oldestPendingAgeSeconds: view.oldestPendingAgeSeconds,
        lastEventReceivedAt: view.lastEventReceivedAt,
      });
    return 0;
  },
};
