import { ConfigError, loadConfig } from './config.js';
import { openStore, redactDatabaseUrl } from './db/index.js';
import { buildService } from './server.js';

/** `npm start`: validate the configuration, open and migrate the database, serve. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }

  let store;
  try {
    store = await openStore(config.databaseUrl);
  } catch (error) {
    console.error(`DATABASE_URL: cannot open ${redactDatabaseUrl(config.databaseUrl)}: ${(error as Error).message}`);
    process.exit(1);
  }

  if (config.webhookSecretSource !== 'env') {
    // Local mode only: printed (not logged) so that a local signer (a test script, a dev tool) can use it.
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

  const service = await buildService({ config, store });
  const shutdown = async (signal: string) => {
    service.app.log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => process.exit(1), 10_000).unref();
    await service.close();
    await store.close();
    clearTimeout(timer);
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  try {
    await service.app.listen({ host: config.host, port: config.port });
  } catch (error) {
    console.error(`HOST/PORT: cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`);
    await service.close();
    await store.close();
    process.exit(1);
  }
  service.app.log.info(
    { database: redactDatabaseUrl(config.databaseUrl), webhookSecrets: config.webhookSecrets.length, production: config.production },
    'billing service ready',
  );
}

await main();
