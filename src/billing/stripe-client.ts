import Stripe from 'stripe';
import type { Config } from '../config/index.js';

export type StripeSettings = Pick<Config, 'stripeSecretKey' | 'stripeApiUrl' | 'stripeMaxNetworkRetries' | 'stripeTimeoutMs'>;

/**
 * The one Stripe client of a process, or undefined without STRIPE_SECRET_KEY. Pinned to the API
 * version of the installed `stripe` package, so that objects read from the API have the shape
 * sync parses; STRIPE_API_URL points it elsewhere (the local stand-in).
 */
export function createStripeClient(settings: StripeSettings): Stripe | undefined {
  if (!settings.stripeSecretKey) return undefined;
  return new Stripe(settings.stripeSecretKey, {
    apiVersion: Stripe.API_VERSION as Stripe.LatestApiVersion,
    maxNetworkRetries: settings.stripeMaxNetworkRetries,
    timeout: settings.stripeTimeoutMs,
    telemetry: false,
    appInfo: { name: 'extension-billing-backbone' },
    ...(settings.stripeApiUrl ? apiAddress(settings.stripeApiUrl) : {}),
  });
}

function apiAddress(url: string): { host: string; port: number; protocol: 'http' | 'https' } {
  const parsed = new URL(url);
  const protocol = parsed.protocol === 'http:' ? 'http' : 'https';
  return { host: parsed.hostname, port: parsed.port ? Number(parsed.port) : protocol === 'http' ? 80 : 443, protocol };
}

/** What an operator needs from a failed Stripe call, never the key or a stack: for logs and `last_error`. */
export function describeStripeError(error: unknown): {
  message: string;
  requestId?: string;
  type?: string;
  code?: string;
  statusCode?: number;
} {
  if (error instanceof Stripe.errors.StripeError) {
    return { message: error.message, requestId: error.requestId, type: error.type, code: error.code, statusCode: error.statusCode };
  }
  return { message: error instanceof Error ? error.message : String(error) };
}

/**
 * Stripe's own clock when it answered (its `Date` header), in unix seconds; our clock as a
 * fallback. A read stamped this way compares with events' `created` without our clock's skew.
 */
export function stripeTimeOf(response: { lastResponse?: { headers?: Record<string, string> } }, fallbackMs: number): number {
  const date = Date.parse(response.lastResponse?.headers?.date ?? '');
  return Number.isNaN(date) ? Math.floor(fallbackMs / 1000) : Math.floor(date / 1000);
}
