/**
 * Plays the user on the stand-in's hosted pages the way a browser does (GET the page, submit its
 * form, read the redirect), for tests and the demo; a browser test clicks the same forms.
 */

async function submit(pageUrl: string, action: string, fields: Record<string, string> = {}): Promise<string> {
  const page = await fetch(pageUrl);
  const html = await page.text();
  if (page.status !== 200 || !html.includes(`action="${new URL(action, pageUrl).pathname}"`)) {
    throw new Error(`${pageUrl} (${page.status}) has no form posting to ${action}`);
  }
  const response = await fetch(new URL(action, pageUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
  await response.arrayBuffer();
  const location = response.headers.get('location');
  if (response.status !== 303 || !location) throw new Error(`submitting ${action} answered ${response.status}`);
  return new URL(location, pageUrl).toString();
}

/** Clicks "Pay" on a hosted Checkout page (having typed `email`, if given); returns the success URL the browser is sent to. */
export function payCheckout(checkoutUrl: string, email?: string): Promise<string> {
  return submit(checkoutUrl, `${new URL(checkoutUrl).pathname}/pay`, email ? { email } : {});
}

export type PortalAction = { switchTo: string } | 'cancel-at-period-end' | 'cancel-now';

/** One action in the hosted portal, on the subscription it shows. */
export async function usePortal(portalUrl: string, subscriptionId: string, action: PortalAction): Promise<void> {
  const base = new URL(portalUrl).pathname;
  if (typeof action === 'object') await submit(portalUrl, `${base}/switch`, { subscription: subscriptionId, price: action.switchTo });
  else await submit(portalUrl, `${base}/${action}`, { subscription: subscriptionId });
}
