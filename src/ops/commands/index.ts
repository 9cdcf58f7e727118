import { backfillCommand, reconcileCommand } from '../../billing/index.js';
import { replay } from './replay.js';
import type { CliCommand } from './types.js';

export type { CliCommand } from './types.js';

/** Every `npm run cli` command by name. */
export const CLI_COMMANDS: Record<string, CliCommand> = {
  replay,
  backfill: backfillCommand,
  reconcile: reconcileCommand,
};
