import type { Config, ProcessRole } from './config/index.js';
import { redactDatabaseUrl } from './db/index.js';
import { buildService } from './server.js';
import { configOrExit, fail, storeOrExit } from './startup.js';
import { WorkerLockError } from './subscriptions/index.js';

/**
 * `npm start`: validate the configuration, open and migrate the database, then serve intake and
 * run the sync worker. `--no-worker` (or PROCESS_ROLE=intake) serves intake only;
 * `--worker-only` (`npm run worker`, or PROCESS_ROLE=worker) runs the worker only, serving
 * health and metrics on HOST:PORT.
 */
async function main(): Promise<void> {
  const config = configOrExit();
  const role = roleFrom(process.argv.slice(2), config.processRole);
  const store = await storeOrExit(config);
  if (role !== 'worker' && config.webhookSecretSource !== 'env') printLocalSecret(config);

  try {
    const service = await buildService({ config: { ...config, processRole: role }, store });
    let shuttingDown = false;
    onSignals(async (signal) => {
      if (shuttingDown) return;
      shuttingDown = true;
      service.app.log.info({ signal }, 'shutting down');
      const timer = setTimeout(() => process.exit(1), 15_000).unref();
      await service.close().catch((error) => service.app.log.error({ err: error }, 'error while shutting down'));
      await store.close();
      clearTimeout(timer);
      process.exit(0);
    });
    try {
      await service.app.listen({ host: config.host, port: config.port });
    } catch (error) {
      await service.close();
      fail(`HOST/PORT: cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`);
    }
    service.app.log.info(
      {
        database: redactDatabaseUrl(config.databaseUrl),
        role,
        webhookSecrets: config.webhookSecrets.length,
        emailSignIn: config.email !== undefined,
        // Which key signs entitlement tokens, and whether it came from configuration or ./data.
        tokenSigningKey: { kid: config.entitlementTokens.signingKeys[0]!.kid, source: config.entitlementTokens.keySource },
        production: config.production,
      },
      role === 'worker' ? 'sync worker ready (serving /healthz, /readyz and /metrics only)' : 'billing service ready',
    );
  } catch (error) {
    if (error instanceof WorkerLockError) fail(`Cannot run the sync worker: ${error.message}`);
    throw error;
  }
}

function roleFrom(args: string[], configured: ProcessRole): ProcessRole {
  if (args.includes('--no-worker')) return 'intake';
  if (args.includes('--worker-only')) return 'worker';
  return configured;
}

function onSignals(handler: (signal: string) => Promise<void>): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void handler(signal));
}

/** Local mode only: printed (not logged) so that a local signer (a test script, a dev tool) can use it. */
function printLocalSecret(config: Config): void {
  console.error(
    [
      '',
      'Local mode: no STRIPE_WEBHOOK_SECRET set, so this service uses a generated signing secret',
      `kept in ${config.dataDir}/webhook-secret:`,
      '',
      `  ${config.webhookSecrets[0]}`,
      '',
      'Set STRIPE_WEBHOOK_SECRET (and NODE_ENV=production) for a real deployment.',
      '',
    ].join('\n'),
  );
}

await main();
