import { backfill } from './backfill.js';
import { events } from './events.js';
import { reconcile } from './reconcile.js';
import { replay } from './replay.js';
import { stats } from './stats.js';
import type { CliCommand } from './types.js';
import { user } from './user.js';

/** Every `npm run cli` command by name. */
export const CLI_COMMANDS: Record<string, CliCommand> = {
  events,
  replay,
  user,
  stats,
  backfill,
  reconcile,
};
