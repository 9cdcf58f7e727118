import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import { core } from './0001_core.js';
import { reliableProcessing } from './0002_reliable_processing.js';
import { eventAttempts } from './0003_event_attempts.js';
import { fetchedState } from './0004_fetched_state.js';
import { claimOrder } from './0005_claim_order.js';
import { tokenLookup } from './0006_token_lookup.js';
import { payloadLz4 } from './0007_payload_lz4.js';
import { checkCoveringIndexes } from './0008_check_covering_indexes.js';
import { eventPayloads } from './0009_event_payloads.js';
import { oneTokenIndex } from './0010_one_token_index.js';
import { accounts } from './0011_accounts.js';
import { usageAndTrials } from './0012_usage_and_trials.js';
import { dashboardSessions } from './0013_dashboard_sessions.js';

/**
 * Migrations live in code so one build serves both dialects; `isPostgres` picks the few
 * dialect-specific bits. The names are what databases record as applied: never rename one.
 */
function migrations(isPostgres: boolean): Record<string, Migration> {
  return {
    '0001_core': core(isPostgres),
    '0002_reliable_processing': reliableProcessing,
    '0003_event_attempts': eventAttempts(isPostgres),
    '0004_fetched_state': fetchedState,
    '0005_claim_order': claimOrder,
    '0006_token_lookup': tokenLookup,
    '0007_payload_lz4': payloadLz4(isPostgres),
    '0008_check_covering_indexes': checkCoveringIndexes(isPostgres),
    '0009_event_payloads': eventPayloads(isPostgres),
    '0010_one_token_index': oneTokenIndex(isPostgres),
    '0011_accounts': accounts(isPostgres),
    '0012_usage_and_trials': usageAndTrials(isPostgres),
    '0013_dashboard_sessions': dashboardSessions(isPostgres),
  };
}

class InCodeMigrations implements MigrationProvider {
  constructor(private readonly isPostgres: boolean) {}
  async getMigrations() {
    return migrations(this.isPostgres);
  }
}

/**
 * Applies every pending migration, or those up to `upTo` (a migration's name); throws with the
 * failing migration's error. Kysely's migrator takes a database-level lock, so several instances
 * may start at once.
 */
export async function migrateToLatest(db: Kysely<any>, isPostgres: boolean, upTo?: string): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new InCodeMigrations(isPostgres) });
  const { error, results } = upTo === undefined ? await migrator.migrateToLatest() : await migrator.migrateTo(upTo);
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
