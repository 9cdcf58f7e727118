import { backfill } from './backfill.js';
import { events } from './events.js';
import { keys } from './keys.js';
import { reconcile } from './reconcile.js';
import { replay } from './replay.js';
import { stats } from './stats.js';
import type { CliCommand, StandaloneCommand } from './types.js';
import { usage } from './usage.js';
import { user } from './user.js';

/** Every `npm run cli` command by name. */
export const CLI_COMMANDS: Record<string, CliCommand | StandaloneCommand> = {
  events,
  replay,
  user,
  stats,
  backfill,
  reconcile,
  usage,
  keys,
};
