import { afterAll } from 'vitest';
import { checkCapturedOutput, registerDatabasePassword } from './log-scan.js';

// A `setupFiles` entry (vitest.config.ts): runs in every test file, its `afterAll` after the file's own.

// The role's password (scripts/test-fresh-machine.sh sets one) is in every PostgreSQL test database's URL.
registerDatabasePassword('TEST_DATABASE_URL', process.env.TEST_DATABASE_URL);

afterAll(checkCapturedOutput);
