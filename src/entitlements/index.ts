/** May this user use premium features now: the pure decision, the read model it reads, its routes and its signed token. */

export type { Decision, GrantingPlan } from './decide.js';
export { rowsByTokenHashes, rowsForTokenHash } from './read-model.js';
export {
  checkRequest,
  decisionOf,
  type EntitlementOptions,
  type EntitlementSettings,
  entitlementRoutes,
} from './routes.js';
export { EntitlementSigner } from './token.js';
export { trialRoutes } from './trial.js';
