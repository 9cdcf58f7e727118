import { parseArgs } from 'node:util';
import type { WebhookEventStatus } from '../../db/index.js';
import { EVENT_STATUSES, eventDetail, listEvents } from '../../ops/index.js';
import { printFields, printJson, printTable } from './output.js';
import type { CliCommand } from './types.js';

/** `events list` and `events show`: the stored events, as the admin API shows them. */
export const events: CliCommand = {
  usage: ['events list [--status dead] [--type T] [--limit 50] [--cursor C] [--json]', 'events show <event id> [--json]'],
  async run({ store, args }) {
    const [action, ...rest] = args;
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        status: { type: 'string' },
        type: { type: 'string' },
        limit: { type: 'string' },
        cursor: { type: 'string' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
    });
    if (action === 'list') {
      if (values.status !== undefined && !EVENT_STATUSES.includes(values.status as WebhookEventStatus)) {
        console.error(`--status must be one of ${EVENT_STATUSES.join(', ')}`);
        return 2;
      }
      const limit = values.limit === undefined ? 50 : Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
        console.error('--limit must be a whole number from 1 to 500');
        return 2;
      }
      const page = await listEvents(store.db, {
        status: values.status as WebhookEventStatus | undefined,
        type: values.type,
        limit,
        cursor: values.cursor,
      });
      if (values.json) printJson(page);
      else {
        printTable(page.events, ['id', 'type', 'status', 'attempts', 'receivedAt', 'lastError']);
        if (page.nextCursor) console.log(`\nmore: npm run cli -- events list --cursor ${page.nextCursor}`);
      }
      return 0;
    }
    if (action === 'show' && positionals[0]) {
      const detail = await eventDetail(store.db, positionals[0]);
      if (!detail) {
        console.error(`no stored event ${positionals[0]}`);
        return 1;
      }
      if (values.json) printJson(detail);
      else {
        const { attemptLog, payload: _payload, ...fields } = detail;
        printFields(fields);
        console.log('\nattempts:');
        printTable(attemptLog, ['attempt', 'worker', 'startedAt', 'durationMs', 'outcome', 'error'], 80);
      }
      return 0;
    }
    console.error(`usage:\n${events.usage.map((u) => `  npm run cli -- ${u}`).join('\n')}`);
    return 2;
  },
};
