import { type Config, ConfigError, loadConfig } from './config/index.js';
import { openStore, redactDatabaseUrl, type Store, withoutDatabaseSecrets } from './db/index.js';

/** Start-up steps shared by the service, the worker and the CLIs: plain messages, exit 1, no stack traces. */

export function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

export function configOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
}

/** Opens and migrates DATABASE_URL, or exits naming the variable (every secret of the URL masked, in the error too). */
export async function storeOrExit(config: Config): Promise<Store> {
  try {
    return await openStore(config.databaseUrl);
  } catch (error) {
    fail(
      `DATABASE_URL: cannot open ${redactDatabaseUrl(config.databaseUrl)}: ${withoutDatabaseSecrets((error as Error).message, config.databaseUrl)}`,
    );
  }
}
