import type { FastifyRequest } from 'fastify';

/** The session cookie (Path=/dashboard) and the sign-in form's short-lived CSRF cookie. */
export const SESSION_COOKIE = 'billing_dashboard';
export const LOGIN_COOKIE = 'billing_dashboard_login';

export function readCookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=') || undefined;
  }
  return undefined;
}

/** `HttpOnly; SameSite=Strict` always; `Secure` unless the service runs in local mode on loopback (plain http there). */
export function setCookie(name: string, value: string, options: { path: string; maxAgeSeconds: number; secure: boolean }): string {
  return `${name}=${value}; Path=${options.path}; Max-Age=${options.maxAgeSeconds}; HttpOnly; SameSite=Strict${options.secure ? '; Secure' : ''}`;
}

/**
 * A POST must come from a page of this service: its `Origin` is the request's own origin (as the
 * proxy tells it, with TRUST_PROXY) or PUBLIC_URL's. Browsers send `Origin` on every form POST;
 * one without it is not a browser's form, and is refused too.
 */
export function sameOrigin(request: FastifyRequest, publicUrl: string | undefined): boolean {
  const origin = request.headers.origin;
  if (!origin) return false;
  return origin === `${request.protocol}://${request.host}` || (publicUrl !== undefined && origin === new URL(publicUrl).origin);
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Cookies go without `Secure` only in local mode on a loopback address: nothing else is plain http. */
export function secureCookies(production: boolean, host: string): boolean {
  return production || !LOOPBACK.has(host);
}
