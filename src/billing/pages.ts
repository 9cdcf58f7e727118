/**
 * The small HTML pages the user's browser lands on after Checkout or the portal. Every page is
 * one of a fixed set: nothing from the request is ever written into the HTML.
 */
const PAGES = {
  subscribed: [200, 'You are subscribed', 'Thank you! Premium is active now. You can close this tab and return to the extension.'],
  processing: [
    200,
    'Payment in progress',
    'Your payment is still being processed. Premium turns on as soon as it completes; you can close this tab.',
  ],
  unconfirmed: [
    502,
    'Payment not confirmed yet',
    'We could not confirm your payment with Stripe just now. If you paid, premium turns on within a few minutes; you can close this tab.',
  ],
  invalid_link: [400, 'Invalid link', 'This link is not a valid Checkout confirmation link.'],
  unknown_session: [404, 'Unknown checkout', 'This Checkout Session does not exist.'],
  not_configured: [503, 'Billing unavailable', 'Billing is not configured on this server.'],
  canceled: [200, 'Checkout canceled', 'Nothing was charged. You can close this tab and return to the extension.'],
  done: [200, 'All set', 'Your changes are saved. You can close this tab and return to the extension.'],
} as const satisfies Record<string, readonly [number, string, string]>;

export type PageName = keyof typeof PAGES;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderPage(name: PageName): { status: number; html: string } {
  const [status, title, message] = PAGES[name];
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}</style></head>
<body><h1 id="title">${escapeHtml(title)}</h1><p id="message">${escapeHtml(message)}</p></body></html>
`;
  return { status, html };
}

/** Headers of every page: no caching, no scripts, no framing. */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};
