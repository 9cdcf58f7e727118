import { backfillCommand, reconcileCommand } from '../../billing/index.js';
import { events } from './events.js';
import { replay } from './replay.js';
import { stats } from './stats.js';
import type { CliCommand } from './types.js';
import { user } from './user.js';

export type { CliCommand } from './types.js';

/** Every `npm run cli` command by name. */
export const CLI_COMMANDS: Record<string, CliCommand> = {
  events,
  replay,
  user,
  stats,
  backfill: backfillCommand,
  reconcile: reconcileCommand,
};
