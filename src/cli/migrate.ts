import { redactDatabaseUrl } from '../db/index.js';
import { configOrExit, storeOrExit } from '../startup.js';

/** `npm run migrate`: applies pending migrations to DATABASE_URL and exits. */
const config = configOrExit();
const store = await storeOrExit(config);
await store.close();
console.log(`Migrations applied to ${redactDatabaseUrl(config.databaseUrl)}`);
