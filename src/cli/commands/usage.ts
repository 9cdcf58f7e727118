import { parseArgs } from 'node:util';
import { resetUsageView, usageView } from '../../ops/index.js';
import { printJson, printTable } from './output.js';
import { userViewSettings } from './settings.js';
import type { CliCommand } from './types.js';
import { USAGE_COLUMNS } from './user.js';

/** `usage <user>`: where each configured quota stands; `--reset <feature>` takes back the current window's count. */
export const usage: CliCommand = {
  usage: ['usage <user id> [--reset <feature>] [--json]'],
  async run({ store, config, args }) {
    const { values, positionals } = parseArgs({
      args,
      options: { json: { type: 'boolean' }, reset: { type: 'string' } },
      allowPositionals: true,
    });
    const [userId] = positionals;
    if (!userId) {
      console.error(`usage: npm run cli -- ${usage.usage[0]}`);
      return 2;
    }
    const { entitlements, quotas } = userViewSettings(store, config);
    if (values.reset !== undefined) {
      const reset = await resetUsageView(entitlements, quotas, userId, values.reset);
      if (!reset) {
        console.error(`no usage limits are configured for feature ${values.reset} (USAGE_LIMITS)`);
        return 1;
      }
      if (values.json) printJson(reset);
      else console.log(`reset ${reset.feature} for ${userId}: ${reset.reset} use(s) taken back; used now ${reset.usage.used}`);
      return 0;
    }
    const view = await usageView(entitlements, quotas, userId);
    if (values.json) printJson(view);
    else if (Object.keys(view.usage).length === 0) console.log('no usage limits are configured (USAGE_LIMITS)');
    else
      printTable(
        Object.entries(view.usage).map(([feature, state]) => ({ feature, ...state })),
        USAGE_COLUMNS,
      );
    return 0;
  },
};
