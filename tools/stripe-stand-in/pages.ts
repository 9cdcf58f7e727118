import { escapeHtml } from '../../src/billing/pages.js';
import type { Price, StripeObject } from './objects.js';

/**
 * The hosted Checkout and Customer Portal pages. Kept plain, with stable element ids and button
 * texts, so that a browser test can play the user: `#pay` ("Pay"), `#cancel`; in the portal
 * `#switch-<price id>` ("Switch to <price id>"), `#cancel-at-period-end`, `#cancel-now`, `#return`.
 */
function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;max-width:32rem;margin:3rem auto}button{margin:.25rem 0;display:block}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>
`;
}

export function checkoutPage(session: StripeObject, price: Price): string {
  if (session.status === 'complete') return page('Already paid', '<p id="status">This Checkout Session is complete.</p>');
  const amount = (price.unitAmount / 100).toFixed(2);
  return page(
    'Stripe stand-in Checkout',
    `<p id="plan">${escapeHtml(price.nickname)} (${escapeHtml(price.id)}): ${escapeHtml(amount)} USD per month</p>
<form method="post" action="/checkout/${escapeHtml(session.id)}/pay"><label>Email <input id="email" name="email" type="email" autocomplete="email"></label> <button id="pay" type="submit">Pay</button></form>
${session.cancel_url ? `<p><a id="cancel" href="${escapeHtml(session.cancel_url)}">Cancel</a></p>` : ''}`,
  );
}

export function portalPage(session: StripeObject, subscriptions: StripeObject[], prices: Price[]): string {
  const action = (path: string) => `/portal/${escapeHtml(session.id)}/${path}`;
  const back = session.return_url ? `<p><a id="return" href="${escapeHtml(session.return_url)}">Return</a></p>` : '';
  const subscription = subscriptions[0];
  if (!subscription) return page('Stripe stand-in Customer Portal', `<p id="status">No active subscription.</p>${back}`);
  const current = subscription.items.data[0].price.id as string;
  const switches = prices
    .filter((p) => p.id !== current)
    .map(
      (p) =>
        `<button id="switch-${escapeHtml(p.id)}" name="price" value="${escapeHtml(p.id)}" type="submit">Switch to ${escapeHtml(p.id)}</button>`,
    )
    .join('\n');
  return page(
    'Stripe stand-in Customer Portal',
    `<p id="status">Subscription ${escapeHtml(subscription.id)}: ${escapeHtml(subscription.status)}, plan ${escapeHtml(current)}${subscription.cancel_at_period_end ? ', cancels at period end' : ''}</p>
<form method="post" action="${action('switch')}"><input type="hidden" name="subscription" value="${escapeHtml(subscription.id)}">${switches}</form>
<form method="post" action="${action('cancel-at-period-end')}"><input type="hidden" name="subscription" value="${escapeHtml(subscription.id)}"><button id="cancel-at-period-end" type="submit">Cancel at period end</button></form>
<form method="post" action="${action('cancel-now')}"><input type="hidden" name="subscription" value="${escapeHtml(subscription.id)}"><button id="cancel-now" type="submit">Cancel now</button></form>
${back}`,
  );
}
