import type { Config } from '../../config/index.js';
import type { Store } from '../../db/index.js';

/** One `npm run cli -- <name> …` command: returns the process exit code. */
export interface CliCommand {
  /** One usage line per form, shown by `npm run cli` without arguments. */
  usage: string[];
  run(context: { store: Store; config: Config; args: string[] }): Promise<number>;
}

/** A command that needs neither the configuration nor the database (it runs before either exists). */
export interface StandaloneCommand {
  usage: string[];
  standalone: true;
  run(args: string[]): Promise<number>;
}
