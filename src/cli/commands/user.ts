import { parseArgs } from 'node:util';
import { userDetail } from '../../ops/index.js';
import { printFields, printJson, printTable } from './output.js';
import { userViewSettings } from './settings.js';
import type { CliCommand } from './types.js';

export const USAGE_COLUMNS = ['feature', 'used', 'limit', 'remaining', 'resetsAt', 'per'];

/** `user <id>`: the user's link to Stripe, subscriptions with history, and the entitlement decision. */
export const user: CliCommand = {
  usage: ['user <user id> [--json]'],
  async run({ store, config, args }) {
    const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true });
    const [userId] = positionals;
    if (!userId) {
      console.error(`usage: npm run cli -- ${user.usage[0]}`);
      return 2;
    }
    const { entitlements, quotas } = userViewSettings(store, config);
    const detail = await userDetail(entitlements, quotas, userId);
    if (!detail) {
      console.error(`no user or linked customer ${userId}`);
      return 1;
    }
    if (values.json) {
      printJson(detail);
      return 0;
    }
    printFields({ userId: detail.userId, createdAt: detail.createdAt, ...detail.entitlement });
    if (Object.keys(detail.usage).length > 0) {
      console.log('\nusage:');
      printTable(
        Object.entries(detail.usage).map(([feature, state]) => ({ feature, ...state })),
        USAGE_COLUMNS,
      );
    }
    console.log('\ncustomers:');
    printTable(detail.customers, ['id', 'linkedBy', 'deleted', 'features']);
    for (const subscription of detail.subscriptions) {
      console.log(`\nsubscription ${subscription.id}: ${subscription.status}, ${subscription.priceId ?? '-'}`);
      printTable(subscription.history, ['appliedAt', 'eventType', 'eventId', 'statusBefore', 'statusAfter', 'changes'], 70);
    }
    return 0;
  },
};
