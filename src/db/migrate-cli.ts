import { configOrExit, storeOrExit } from '../startup.js';
import { redactDatabaseUrl } from './index.js';

/** `npm run migrate`: applies pending migrations to DATABASE_URL and exits. */
const config = configOrExit();
const store = await storeOrExit(config);
await store.close();
console.log(`Migrations applied to ${redactDatabaseUrl(config.databaseUrl)}`);
