/**
 * The mode a configured Stripe key works in: a live key (`sk_live_…`, `rk_live_…`) expects live
 * events only, a test key test events only. Without a key both are accepted.
 */
export function expectedLivemode(stripeSecretKey: string | undefined): boolean | undefined {
  if (stripeSecretKey === undefined) return undefined;
  return /^(sk|rk)_live_/.test(stripeSecretKey);
}
