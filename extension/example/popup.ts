import { connectBillingClient, type Entitlement } from '../client/index.js';

const billing = connectBillingClient();
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const PLAN_NAMES: Record<string, string> = { price_basic: 'Basic', price_pro: 'Pro' };

function date(iso: string | null): string {
  return iso ? new Date(iso).toLocaleDateString('en-US', { year: 'numeric', month: 'short', day: 'numeric' }) : '-';
}

/** Everything shown comes from the entitlement answer; textContent only, never HTML. */
function render(entitlement: Entitlement): void {
  $('plan').textContent = entitlement.premium ? (PLAN_NAMES[entitlement.priceId ?? ''] ?? entitlement.priceId ?? 'Premium') : 'Free';
  $('status').textContent = entitlement.status ?? 'no subscription';
  const ending = entitlement.cancelAtPeriodEnd || entitlement.status === 'canceled';
  $('period-label').textContent = ending ? 'Ends' : 'Renews';
  $('period').textContent = date(
    entitlement.graceUntil && entitlement.status === 'past_due' ? entitlement.graceUntil : entitlement.currentPeriodEnd,
  );
  $('stale').hidden = !entitlement.stale;
  $('upgrade').hidden = entitlement.premium;
  $('manage').hidden = entitlement.status === null;
  // Gated here for the user's sake; the server enforces it (GET /v1/premium/ping), since this check can be patched out.
  $<HTMLButtonElement>('premium-feature').disabled = !entitlement.premium;
}

function showError(error: unknown): void {
  $('error').hidden = false;
  $('error').textContent = error instanceof Error ? error.message : String(error);
}

billing.onEntitlementChange(render);

$('upgrade').addEventListener('click', () => billing.openCheckout().catch(showError));
$('manage').addEventListener('click', () => billing.openPortal().catch(showError));
$('premium-feature').addEventListener('click', async () => {
  const result = await billing.fetchPremium('/v1/premium/ping');
  $('feature-result').textContent =
    result.status === 200 ? '✓ Premium feature ran' : result.status === 402 ? 'Premium required' : `Failed (${result.status})`;
});

billing.getEntitlement({ maxAgeMs: 0 }).then(render, showError);
