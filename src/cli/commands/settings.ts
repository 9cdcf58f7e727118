import type { Config } from '../../config/index.js';
import type { Store } from '../../db/index.js';
import type { EntitlementSettings } from '../../entitlements/index.js';
import { UsageQuotas } from '../../usage/index.js';

/** What the views of a user need, from the configuration: the same settings the service decides with. */
export function userViewSettings(store: Store, config: Config): { entitlements: EntitlementSettings; quotas: UsageQuotas } {
  return {
    entitlements: {
      db: store.db,
      pastDueGraceHours: config.pastDueGraceHours,
      priceFeatures: config.priceFeatures,
      trials: config.trial !== undefined,
    },
    quotas: new UsageQuotas(store, config.usageLimits),
  };
}
