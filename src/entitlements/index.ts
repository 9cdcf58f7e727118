/** May this user use premium features now: the pure decision, the read model it reads, and its routes. */
export { rowsByTokenHashes, rowsForTokenHash } from './read-model.js';
export { type EntitlementSettings, entitlementOf, entitlementRoutes } from './routes.js';
