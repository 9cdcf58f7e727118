/** May this user use premium features now: the pure decision, the read model it reads, its routes and its signed token. */
export { rowsByTokenHashes, rowsForTokenHash } from './read-model.js';
export { type EntitlementSettings, entitlementOf, entitlementRoutes } from './routes.js';
export { EntitlementSigner } from './token.js';
