import { loadConfig } from '../config.js';
import { openStore, redactDatabaseUrl } from './index.js';

/** `npm run migrate`: applies pending migrations to DATABASE_URL and exits. */
const config = loadConfig();
try {
  const store = await openStore(config.databaseUrl);
  await store.close();
  console.log(`Migrations applied to ${redactDatabaseUrl(config.databaseUrl)}`);
} catch (error) {
  console.error(`Cannot migrate ${redactDatabaseUrl(config.databaseUrl)}: ${(error as Error).message}`);
  process.exit(1);
}
