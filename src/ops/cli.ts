import { parseArgs } from 'node:util';
import type { Store, WebhookEventStatus } from '../db/index.js';
import { configOrExit, storeOrExit } from '../startup.js';
import { EventQueue } from '../subscriptions/index.js';

/**
 * `npm run cli -- <command>`: operations against DATABASE_URL, for a terminal.
 * Replayed events are picked up by the running worker(s) on their next poll.
 */
const USAGE = `usage:
  npm run cli -- replay <event id>          put one stored event back in the queue
  npm run cli -- replay --status dead       put every event with that status back in the queue`;

const REPLAYABLE: WebhookEventStatus[] = ['dead', 'failed', 'applied', 'ignored'];

type Command = (store: Store, args: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  async replay(store, args) {
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
      console.error(USAGE);
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

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const command = name ? COMMANDS[name] : undefined;
  if (!command) {
    console.error(USAGE);
    return 2;
  }
  const store = await storeOrExit(configOrExit());
  try {
    return await command(store, args);
  } finally {
    await store.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
