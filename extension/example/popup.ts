import { BillingError, connectBillingClient, type Entitlement, type Usage } from '../client/index.js';

/** Set at build time (`--seller-url`): your own premium route, which verifies the entitlement token itself; null: no such button. */
declare const SELLER_BACKEND_URL: string | null;

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
  renderQuota(entitlement);
}

/** The example's quota-limited feature: its limits are the service's `USAGE_LIMITS.summarize` (docs/usage.md). */
const QUOTA_FEATURE = 'summarize';
const PER_WORDS: Record<string, string> = { day: ' today', month: ' this month', billing_period: ' this billing period', lifetime: '' };

/** "3 of 5 left today", "Unlimited", or "Not on your plan" (no free use). */
function quotaText(usage: Usage): string {
  if (usage.limit === null) return 'Unlimited';
  if (usage.limit === 0) return 'Not on your plan';
  return `${usage.remaining} of ${usage.limit} left${PER_WORDS[usage.per ?? ''] ?? ''}`;
}

/** Shown only when the service has a quota for the feature; refreshed with every answer, and after each use. */
function renderQuota(entitlement: Entitlement): void {
  const usage = entitlement.usage?.[QUOTA_FEATURE];
  $('quota-feature').hidden = usage === undefined;
  if (!usage) return;
  $('quota').textContent = quotaText(usage);
  if (usage.remaining !== 0) $('quota-upgrade').hidden = true;
}

function showError(error: unknown): void {
  $('error').hidden = false;
  $('error').textContent = error instanceof Error ? error.message : String(error);
}

/** The account part: "Signed in as" with Sign out, or the Restore purchase flow (email → code → verify). */
async function renderAccount(): Promise<void> {
  const { email } = await billing.ensureUser();
  $('signed-in').hidden = email === null;
  $('account-email').textContent = email ?? '';
  const restoring = !$('email-form').hidden || !$('code-form').hidden;
  $('restore').hidden = email !== null || restoring;
  if (email !== null) for (const form of ['email-form', 'code-form']) $(form).hidden = true;
}

/** The library's typed errors carry a message meant for the user; a wait (429) also holds the button. */
function showAccountError(error: unknown, button?: HTMLButtonElement): void {
  $('account-error').hidden = false;
  $('account-error').textContent = error instanceof Error ? error.message : String(error);
  if (button && error instanceof BillingError && error.kind === 'rate_limited' && error.retryAfterSeconds) {
    button.disabled = true;
    setTimeout(() => (button.disabled = false), error.retryAfterSeconds * 1000);
  }
}

/** Runs an account action with its button held, and clears the last error first. */
async function busy(button: HTMLButtonElement, action: () => Promise<void>): Promise<void> {
  $('account-error').hidden = true;
  button.disabled = true;
  let failure: unknown;
  try {
    await action();
  } catch (error) {
    failure = error;
  }
  button.disabled = false;
  if (failure !== undefined) showAccountError(failure, button);
}

billing.onEntitlementChange((entitlement) => {
  render(entitlement);
  void renderAccount().catch(showError); // the account may have changed with it (verify, sign-out)
});

$('upgrade').addEventListener('click', () => billing.openCheckout().catch(showError));
$('manage').addEventListener('click', () => billing.openPortal().catch(showError));
$('premium-feature').addEventListener('click', async () => {
  const result = await billing.fetchPremium('/v1/premium/ping');
  $('feature-result').textContent =
    result.status === 200 ? '✓ Premium feature ran' : result.status === 402 ? 'Premium required' : `Failed (${result.status})`;
});

/**
 * Gated on `consume`: the service counts the use and says whether it fits, exactly, whatever this
 * page shows. A fresh idempotency key per click: a retry of the same click counts once.
 */
$('summarize').addEventListener('click', async () => {
  $('summarize-result').textContent = '';
  try {
    const use = await billing.consume(QUOTA_FEATURE, { idempotencyKey: crypto.randomUUID() });
    $('quota').textContent = quotaText(use);
    $('summarize-result').textContent = use.allowed
      ? '✓ Summarized'
      : `Your ${use.limit} ${use.per === 'day' ? 'free summaries today are' : 'summaries are'} used up`;
    $('quota-upgrade').hidden = use.allowed;
    $('quota-upgrade-text').textContent = use.resetsAt
      ? `More from ${date(use.resetsAt)}, or now with an upgrade.`
      : 'More with an upgrade.';
  } catch (error) {
    $('summarize-result').textContent = error instanceof Error ? error.message : String(error);
  }
});
$('quota-upgrade-button').addEventListener('click', () => billing.openCheckout().catch(showError));

/**
 * Your own backend, called with the entitlement token: it verifies the token offline (its
 * signature and expiry), so it keeps answering while the billing service is down, and it is the
 * one that decides, since anything in the extension can be patched out.
 */
async function askBackend(url: string): Promise<string> {
  let token: string;
  try {
    token = await billing.getEntitlementToken();
  } catch (error) {
    return error instanceof Error ? error.message : String(error); // unreachable, and no unexpired token kept
  }
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } }).catch(() => null);
  if (!response) return 'Your backend could not be reached';
  const body = (await response.json().catch(() => null)) as { priceId?: string | null; error?: string } | null;
  if (response.status === 200) return `✓ Your backend: premium (${PLAN_NAMES[body?.priceId ?? ''] ?? body?.priceId ?? 'Premium'})`;
  if (response.status === 402) return 'Your backend: premium required';
  if (response.status === 401) return `Your backend refused the token: ${body?.error ?? 'unauthorized'}`;
  return `Your backend answered ${response.status}`;
}

if (SELLER_BACKEND_URL !== null) {
  const url = SELLER_BACKEND_URL;
  $('backend').hidden = false;
  $('call-backend').addEventListener('click', async () => {
    $('backend-result').textContent = '';
    $('backend-result').textContent = await askBackend(url);
  });
}

$('restore').addEventListener('click', () => {
  $('restore').hidden = true;
  $('email-form').hidden = false;
  $('email').focus();
});
$('email-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const email = $<HTMLInputElement>('email').value.trim();
  void busy($('send-code'), async () => {
    await billing.requestCode(email);
    $('code-email').textContent = email;
    $('email-form').hidden = true;
    $('code-form').hidden = false;
    $('code').focus();
  });
});
$('code-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const email = $('code-email').textContent ?? '';
  const code = $<HTMLInputElement>('code');
  void busy($('verify'), async () => {
    render(await billing.verifyCode(email, code.value.trim()));
    code.value = '';
    $('code-form').hidden = true;
    await renderAccount();
  });
});
$('other-email').addEventListener('click', () => {
  $('code-form').hidden = true;
  $('email-form').hidden = false;
  $('account-error').hidden = true;
});
$('sign-out').addEventListener('click', () =>
  busy($('sign-out'), async () => {
    render(await billing.signOut());
    await renderAccount();
  }),
);

billing.getEntitlement({ maxAgeMs: 0 }).then(render, showError);
renderAccount().catch(showError);
