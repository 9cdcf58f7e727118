import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect } from 'vitest';
import type { TestDatabase } from '../helpers/databases.js';
import {
  checkoutCompletedEvent,
  customerEvent,
  deliverAll,
  invoiceEvent,
  newId,
  nowSeconds,
  subscriptionEvent,
} from '../helpers/events.js';
import { registerSecret } from '../helpers/log-scan.js';
import { type RunningService, startService } from '../helpers/service.js';
import { type CapturedMessage, type SmtpCapture, startSmtpCapture } from '../helpers/smtp.js';

/** Restore by emailed code, over loopback HTTP, with a real SMTP server catching the messages. */

export const EMAIL_FROM = 'restore@billing.test';
/** The contract's limits (issue "Restore a purchase on any device"). */
export const LIMITS = { codesPerAddress: 5, codeRequestsPerIp: 20, verifyAttemptsPerIp: 60, wrongCodes: 5, codeLifetimeMs: 10 * 60_000 };

export interface AccountContext {
  readonly svc: RunningService;
  readonly smtp: SmtpCapture;
  /** Every address and code the file's tests used: the log check looks for each. */
  readonly emails: string[];
  readonly codes: string[];
}

/**
 * The service with SMTP_URL set to a real SMTP server on loopback, for the enclosing `describe`.
 * It trusts 127.0.0.1 as its proxy, so that each test can be its own client address
 * (`X-Forwarded-For`) with its own per-address budget.
 */
export function useAccountService(
  backend: { create(): Promise<TestDatabase> },
  options: Parameters<typeof startService>[1] = {},
  /** The service's SMTP_URL, given the SMTP server's. */
  smtpUrl: (url: string) => string = (url) => url,
  /** Recipients the SMTP server refuses (550). */
  refuses?: (address: string) => boolean,
): AccountContext {
  const context = { emails: [], codes: [] } as unknown as {
    svc: RunningService;
    smtp: SmtpCapture;
    database: TestDatabase;
  } & AccountContext;
  beforeAll(async () => {
    context.smtp = await startSmtpCapture({ refuses });
    context.database = await backend.create();
    context.svc = await startService(context.database, {
      ...options,
      config: { trustProxy: ['127.0.0.1'], email: { smtpUrl: smtpUrl(context.smtp.url), from: EMAIL_FROM }, ...options.config },
    });
  });
  afterAll(async () => {
    await context.svc?.close();
    await context.smtp?.close();
    await context.database?.drop();
  });
  return context;
}

let clients = 0;
/** A client address of its own (TEST-NET-3), sent as X-Forwarded-For. */
export function newClientIp(): string {
  clients++;
  return `203.0.${113 + Math.floor(clients / 250)}.${(clients % 250) + 1}`;
}

/** A fresh address, lower-case; registered so that the after-file scan fails on any output holding it. */
export function newEmail(context: AccountContext, label = 'buyer'): string {
  const email = `${label}.${randomBytes(5).toString('hex')}@restore.example`;
  registerSecret('an email address a test used', email);
  context.emails.push(email);
  return email;
}

/** The same address as a person might type it: other case, spaces around it. */
export function typed(email: string): string {
  const [local, domain] = email.split('@') as [string, string];
  return `  ${local.toUpperCase()}@${domain.charAt(0).toUpperCase()}${domain.slice(1)} `;
}

export interface Answer {
  status: number;
  body: any;
  retryAfter: string | null;
}

/** A POST with the install's bearer token (when given) from a client address. */
export async function post(context: AccountContext, path: string, token: string | undefined, body: unknown, ip: string): Promise<Answer> {
  const response = await fetch(`${context.svc.baseUrl}${path}`, {
    method: 'POST',
    headers: {
      'x-forwarded-for': ip,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, retryAfter: response.headers.get('retry-after') };
}

export const requestCode = (context: AccountContext, token: string, email: string, ip: string) =>
  post(context, '/v1/account/email', token, { email }, ip);
export const verifyCode = (context: AccountContext, token: string, email: string, code: string, ip: string) =>
  post(context, '/v1/account/verify', token, { email, code }, ip);
export const signOut = (context: AccountContext, token: string, ip: string) => post(context, '/v1/account/signout', token, undefined, ip);

/** The newest message the SMTP server received for the address. */
export function lastMessageTo(context: AccountContext, email: string): CapturedMessage | undefined {
  return context.smtp.messages.filter((m) => m.to.includes(email.trim().toLowerCase())).at(-1);
}

/** Asks for a code (202 expected) and reads it from the message that arrives for it. */
export async function receiveCode(context: AccountContext, token: string, email: string, ip: string): Promise<string> {
  const address = email.trim().toLowerCase();
  const before = context.smtp.countTo(address);
  const answer = await requestCode(context, token, email, ip);
  expect([answer.status, answer.body]).toEqual([202, { sent: true }]);
  const code = await context.smtp.waitForCode(address, { after: before });
  expect(code).toMatch(/^\d{6}$/);
  context.codes.push(code);
  return code;
}

/** Asks for a code, verifies it (200 expected); the verify answer's body. */
export async function restore(context: AccountContext, token: string, email: string, ip: string): Promise<any> {
  const code = await receiveCode(context, token, email, ip);
  const answer = await verifyCode(context, token, email, code, ip);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body;
}

/** Another 6-digit code than `code`. */
export function wrongCode(code: string, offset = 1): string {
  return String((Number(code) + offset) % 1_000_000).padStart(6, '0');
}

/** A 429 that says, in whole seconds within the hour, when to come back. */
export function expectRateLimited(answer: Answer): void {
  expect(answer.status).toBe(429);
  expect(answer.body).toMatchObject({ error: 'rate_limited' });
  expect(answer.retryAfter).toMatch(/^\d+$/);
  expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(answer.retryAfter)).toBeLessThanOrEqual(3600);
}

export interface Purchase {
  customer: string;
  subscription: string;
  created: number;
}

export type EmailSource = 'customer.created' | 'customer.updated' | 'checkout.session.completed';

/**
 * A purchase of `userId`, as Stripe's webhooks tell it: the customer (linked by metadata.user_id),
 * the completed Checkout, the active subscription and its paid invoice. The email is in each
 * `sources` event (`customer.email`, `customer_details.email`), and null in the others.
 */
export async function buy(
  svc: RunningService,
  userId: string,
  email: string | null,
  sources: readonly EmailSource[] = ['customer.created', 'checkout.session.completed'],
): Promise<Purchase> {
  const purchase = { customer: newId('cus'), subscription: newId('sub'), created: nowSeconds() - 600 };
  const { customer, subscription, created: t } = purchase;
  const created = customerEvent('created', { id: customer, userId, created: t });
  created.data.object.email = sources.includes('customer.created') ? email : null;
  const checkout = checkoutCompletedEvent({ customer, userId, subscription, created: t + 1 });
  checkout.data.object.customer_details = {
    ...checkout.data.object.customer_details,
    email: sources.includes('checkout.session.completed') ? email : null,
  };
  const events = [created, checkout];
  if (sources.includes('customer.updated')) {
    const updated = customerEvent('updated', { id: customer, userId, created: t + 2 });
    updated.data.object.email = email;
    events.push(updated);
  }
  events.push(
    subscriptionEvent('created', { id: subscription, customer, status: 'active', userId }, t + 2),
    invoiceEvent('paid', { subscription, customer, created: t + 2 }),
  );
  await deliverAll(svc.baseUrl, events);
  await svc.settle();
  return purchase;
}

/** customer.subscription.deleted for the purchase's subscription. */
export async function cancel(svc: RunningService, purchase: Purchase): Promise<void> {
  const { customer, subscription, created } = purchase;
  await deliverAll(svc.baseUrl, [subscriptionEvent('deleted', { id: subscription, customer, status: 'canceled' }, created + 10)]);
  await svc.settle();
}

/** No log line holds a code or a whole address (in any case); some lines are of the account routes, so the check is not empty. */
export function expectNothingSecretLogged(context: AccountContext): void {
  const lines = context.svc.logs.map((line) => JSON.stringify(line));
  expect(lines.filter((line) => line.includes('/v1/account/')).length).toBeGreaterThan(0);
  const text = lines.join('\n');
  for (const email of context.emails) expect(text.toLowerCase()).not.toContain(email.toLowerCase());
  // A code is 6 digits on their own; longer numbers (times) and decimals (durations) may hold the same digits.
  for (const code of context.codes) expect(text).not.toMatch(new RegExp(`(?<![\\d.])${code}(?!\\d)`));
}
