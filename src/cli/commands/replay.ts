import { parseArgs } from 'node:util';
import type { WebhookEventStatus } from '../../db/index.js';
import { EventQueue } from '../../subscriptions/index.js';
import type { CliCommand } from './types.js';

const REPLAYABLE: WebhookEventStatus[] = ['dead', 'failed', 'applied', 'ignored'];

/** Puts stored events back in the queue; the running worker(s) pick them up on their next poll. */
export const replay: CliCommand = {
  usage: [
    'replay <event id>          put one stored event back in the queue',
    'replay --status dead [--type T]  put every event with that status (and type) back in the queue',
  ],
  async run({ store, args }) {
    const { values, positionals } = parseArgs({
      args,
      options: { status: { type: 'string' }, type: { type: 'string' } },
      allowPositionals: true,
    });
    const queue = new EventQueue(store);
    if (values.status !== undefined) {
      if (!REPLAYABLE.includes(values.status as WebhookEventStatus)) {
        console.error(`--status must be one of ${REPLAYABLE.join(', ')}`);
        return 2;
      }
      const ids = await queue.replay({ status: values.status as WebhookEventStatus, type: values.type });
      const what = `${values.status}${values.type ? ` ${values.type}` : ''}`;
      console.log(`replayed ${ids.length} ${what} event(s)${ids.length ? `: ${ids.join(', ')}` : ''}`);
      return 0;
    }
    const [id] = positionals;
    if (!id) {
      console.error(`usage: npm run cli -- ${replay.usage[0]}`);
      return 2;
    }
    const outcome = await queue.replayOne(id);
    if (outcome !== 'replayed') {
      console.error(outcome === 'in_process' ? `${id} is being processed right now; try again shortly` : `no stored event ${id}`);
      return 1;
    }
    console.log(`replayed ${id}`);
    return 0;
  },
};
