/**
 * The extension half of the billing service, for Manifest V3.
 *
 * - In the background service worker: `createBillingClient({ serverUrl })`, then
 *   `installBillingBackground(client)` (refresh on a `chrome.alarms` schedule, notice the user's
 *   return from Checkout or the Customer Portal, answer the other contexts).
 * - In popups, options pages and content scripts: `connectBillingClient()`, the same API carried
 *   out by the background (content scripts cannot call the service themselves).
 *
 * Every context hears changes through `onEntitlementChange`: the background writes each new
 * answer to `chrome.storage.local`, whose change events reach every open page and content script.
 * Signing in by emailed code (`requestCode`, `verifyCode`) and `signOut` change the account the
 * install acts for; the new account's answer reaches every context the same way.
 * `consume` counts a use of a quota-limited feature and says whether it may run; `getUsage` reads
 * a quota; both update the answer every context holds.
 * `getEntitlementToken` gives the signed token of the latest answer, for the seller's own backend
 * to verify offline (packages/verify-entitlement); it is renewed shortly before it expires.
 *
 * Files: client.ts (the calls to the service), messaging.ts (background and pages), cache.ts
 * (answers during outages, when to renew the token), api.ts (the API's types), errors.ts (the service's refusals as typed errors).
 */
export type { BillingApi, BillingClientOptions } from './api.js';
export type { Consumption, Entitlement, EntitlementAnswer, Usage } from './cache.js';
export { type BillingClient, createBillingClient, onEntitlementChange } from './client.js';
export { BillingError, type BillingErrorKind } from './errors.js';
export { type BackgroundOptions, connectBillingClient, installBillingBackground } from './messaging.js';
