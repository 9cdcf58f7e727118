import { ConfigError, loadConfig } from '../config.js';
import { openStore, redactDatabaseUrl } from './index.js';

/** `npm run migrate`: applies pending migrations to DATABASE_URL and exits. */
let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
try {
  const store = await openStore(config.databaseUrl);
  await store.close();
  console.log(`Migrations applied to ${redactDatabaseUrl(config.databaseUrl)}`);
} catch (error) {
  console.error(`Cannot migrate ${redactDatabaseUrl(config.databaseUrl)}: ${(error as Error).message}`);
  process.exit(1);
}
