import { configOrExit, storeOrExit } from '../startup.js';
import { CLI_COMMANDS } from './commands/index.js';

/** `npm run cli -- <command> …`: operations against DATABASE_URL, from a terminal. */
function usage(): string {
  const lines = Object.values(CLI_COMMANDS).flatMap((command) => command.usage.map((line) => `  npm run cli -- ${line}`));
  return `usage:\n${lines.join('\n')}`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const command = name ? CLI_COMMANDS[name] : undefined;
  if (!command) {
    console.error(usage());
    return 2;
  }
  if ('standalone' in command) return command.run(args);
  const config = configOrExit();
  const store = await storeOrExit(config);
  try {
    return await command.run({ store, config, args });
  } finally {
    await store.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
