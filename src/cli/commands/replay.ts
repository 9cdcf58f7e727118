import { parseArgs } from 'node:util';
import type { WebhookEventStatus } from '../../db/index.js';
import { EventQueue } from '../../subscriptions/index.js';
import type { CliCommand } from './types.js';

const REPLAYABLE: WebhookEventStatus[] = ['dead', 'failed', 'applied', 'ignored'];

/** Puts stored events back in the queue; the running worker(s) pick them up on their next poll. */
export const replay: CliCommand = {
  usage: [
    'replay <event id>          put one stored event back in the queue',
    'replay --status dead       put every event with that status back in the queue',
  ],
  async run({ store, args }) {
    const { values, positionals } = parseArgs({ args, options: { status: { type: 'string' } }, allowPositionals: true });
    const queue = new EventQueue(store);
    if (values.status !== undefined) {
      if (!REPLAYABLE.includes(values.status as WebhookEventStatus)) {
        console.error(`--status must be one of ${REPLAYABLE.join(', ')}`);
        return 2;
      }
      const ids = await queue.replay({ status: values.status as WebhookEventStatus });
      console.log(`replayed ${ids.length} ${values.status} event(s)${ids.length ? `: ${ids.join(', ')}` : ''}`);
      return 0;
    }
    const [id] = positionals;
    if (!id) {
      console.error(`usage: npm run cli -- ${replay.usage[0]}`);
      return 2;
    }
    const ids = await queue.replay({ id });
    if (ids.length === 0) {
      const exists = await store.db.selectFrom('webhook_events').select('status').where('id', '=', id).executeTakeFirst();
      console.error(exists ? `${id} is being processed right now; try again shortly` : `no stored event ${id}`);
      return 1;
    }
    console.log(`replayed ${id}`);
    return 0;
  },
};
