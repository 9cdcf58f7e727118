import { createBillingClient, installBillingBackground } from '../client/index.js';

/** Set at build time: `npm run build:extension -- --server-url https://billing.example.com`. */
declare const BILLING_SERVER_URL: string;

const client = createBillingClient({ serverUrl: BILLING_SERVER_URL });
installBillingBackground(client);

// Register this install once, and have an answer ready before the popup first opens.
chrome.runtime.onInstalled.addListener(() => {
  void client
    .ensureUser()
    .then(() => client.getEntitlement({ maxAgeMs: 0 }))
    .catch(() => undefined);
});
