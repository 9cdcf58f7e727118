import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseForm } from './form.js';
import { listObject, type Price, type StripeObject } from './objects.js';
import { checkoutPage, portalPage } from './pages.js';
import { StripeApiError, StripeState } from './state.js';
import { WebhookSender, type WebhookTarget } from './webhooks.js';

const DEFAULT_PRICES: Price[] = [
  { id: 'price_basic', product: 'prod_basic', unitAmount: 500, nickname: 'Basic' },
  { id: 'price_pro', product: 'prod_pro', unitAmount: 1200, nickname: 'Pro' },
];

/** A failure the next matching API request(s) answer with instead of their result. */
export interface InjectedFailure {
  /** 500 (Stripe's api_error), 429 (rate limited, with Retry-After), or never answering (the client times out). */
  kind: 500 | 429 | 'timeout';
  times: number;
  /** Only requests whose path starts with this, e.g. `/v1/subscriptions`. */
  path?: string;
}

interface Reply {
  status: number;
  json?: unknown;
  html?: string;
  location?: string;
  headers?: Record<string, string>;
}

type ApiHandler = (params: string[], input: StripeObject) => StripeObject;
type PageHandler = (params: string[], input: StripeObject) => Reply;

/** One API request as the stand-in saw it, for tests that check what the service sent. */
export interface RecordedRequest {
  method: string;
  path: string;
  idempotencyKey: string | undefined;
  replayed: boolean;
  status: number;
}

/**
 * A local stand-in for the parts of Stripe's API this service calls, spoken through the real
 * `stripe` client: form-encoded requests, Stripe-shaped JSON and errors with request ids,
 * idempotency keys, cursor pagination, hosted Checkout and portal pages, signed webhooks, and
 * failures on demand. State is in memory. Listens on 127.0.0.1 only.
 */
export class StripeStandIn {
  readonly webhooks = new WebhookSender();
  readonly state: StripeState;
  readonly requests: RecordedRequest[] = [];
  private readonly failures: InjectedFailure[] = [];
  private readonly idempotent = new Map<string, { fingerprint: string; reply: Reply }>();
  private readonly held = new Set<ServerResponse>();
  private server: Server | undefined;
  private address = '';

  constructor(prices: Price[] = DEFAULT_PRICES) {
    this.state = new StripeState(
      prices,
      () => this.url,
      (event) => this.webhooks.send(event),
    );
  }

  get url(): string {
    return this.address;
  }

  async listen(port = 0): Promise<string> {
    this.server = createServer((req, res) => {
      // A body it cannot parse; anything else is a bug of the stand-in, worth seeing on stderr.
      this.handle(req, res).catch((error) => {
        if (!(error instanceof SyntaxError)) console.error('stripe stand-in:', error);
        if (!res.headersSent)
          send(
            res,
            errorReply(new StripeApiError(400, 'invalid_request_error', 'Invalid request body')),
            `req_${randomBytes(8).toString('hex')}`,
          );
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', resolve);
    });
    this.address = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.address;
  }

  async close(): Promise<void> {
    for (const res of this.held) res.destroy();
    await this.webhooks.flush();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** API requests held unanswered by an injected timeout. */
  get heldRequests(): number {
    return this.held.size;
  }

  setWebhookTarget(target: WebhookTarget): void {
    this.webhooks.target = target;
  }

  injectFailure(failure: InjectedFailure): void {
    this.failures.push({ ...failure });
  }

  private readonly api: [string, RegExp, ApiHandler][] = [
    ['POST', /^\/v1\/customers$/, (_, body) => this.state.createCustomer(body)],
    ['GET', /^\/v1\/customers\/([^/]+)$/, ([id]) => this.state.customer(id!)],
    ['POST', /^\/v1\/customers\/([^/]+)$/, ([id], body) => this.state.updateCustomer(id!, body)],
    ['POST', /^\/v1\/checkout\/sessions$/, (_, body) => this.state.createCheckoutSession(body)],
    ['GET', /^\/v1\/checkout\/sessions\/([^/]+)$/, ([id], query) => this.expand(this.state.checkoutSession(id!), query.expand)],
    ['POST', /^\/v1\/billing_portal\/sessions$/, (_, body) => this.state.createPortalSession(body)],
    ['GET', /^\/v1\/subscriptions\/([^/]+)$/, ([id], query) => this.expand(this.state.subscription(id!), query.expand)],
    ['GET', /^\/v1\/subscriptions$/, (_, query) => this.listSubscriptions(query)],
    ['GET', /^\/v1\/events$/, (_, query) => this.listEvents(query)],
  ];

  /** Hosted pages (what the browser sees) and control routes for the demo and manual runs. */
  private readonly pages: [string, RegExp, PageHandler][] = [
    [
      'GET',
      /^\/checkout\/([^/]+)$/,
      ([id]) => ({ status: 200, html: checkoutPage(this.state.checkoutSession(id!), this.state.checkoutSessions.get(id!)!._price!) }),
    ],
    [
      'POST',
      /^\/checkout\/([^/]+)\/pay$/,
      ([id], form) => {
        const session = this.state.completeCheckout(id!, typeof form.email === 'string' && form.email !== '' ? form.email : undefined);
        return { status: 303, location: String(session.success_url).replaceAll('{CHECKOUT_SESSION_ID}', session.id) };
      },
    ],
    [
      'GET',
      /^\/portal\/([^/]+)$/,
      ([id]) => {
        const session = this.state.portalSession(id!);
        return {
          status: 200,
          html: portalPage(session, this.state.liveSubscriptionsOf(session.customer), [...this.state.prices.values()]),
        };
      },
    ],
    [
      'POST',
      /^\/portal\/([^/]+)\/(switch|cancel-at-period-end|cancel-now)$/,
      ([id, action], form) => {
        const session = this.state.portalSession(id!);
        const subscription = this.state.subscription(String(form.subscription));
        if (subscription.customer !== session.customer)
          throw new StripeApiError(403, 'invalid_request_error', "not this customer's subscription");
        if (action === 'switch') this.state.switchPlan(subscription.id, String(form.price));
        else if (action === 'cancel-at-period-end') this.state.cancelAtPeriodEnd(subscription.id);
        else this.state.cancelNow(subscription.id);
        return { status: 303, location: `/portal/${session.id}` };
      },
    ],
    [
      'POST',
      /^\/_stand-in\/subscriptions\/([^/]+)\/(payment-failed|payment-succeeded)$/,
      ([id, outcome]) => {
        this.state.settleRenewal(id!, outcome === 'payment-succeeded');
        return { status: 200, json: this.state.subscription(id!) };
      },
    ],
    [
      'POST',
      /^\/_stand-in\/failures$/,
      (_, body) => {
        this.injectFailure({
          kind: body.kind === 'timeout' ? 'timeout' : (Number(body.kind) as 500 | 429),
          times: Number(body.times ?? 1),
          path: body.path,
        });
        return { status: 204 };
      },
    ],
  ];

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = `req_${randomBytes(8).toString('hex')}`;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const text = await readBody(req);
    const input =
      method === 'GET'
        ? parseForm(url.search.slice(1))
        : req.headers['content-type']?.includes('json')
          ? JSON.parse(text || '{}')
          : parseForm(text);
    const isApi = url.pathname.startsWith('/v1/');
    const idempotencyKey = isApi && method === 'POST' ? header(req, 'idempotency-key') : undefined;
    const fingerprint = createHash('sha256').update(`${method} ${url.pathname} ${text}`).digest('hex');
    const record = (reply: Reply, replayed = false) => {
      if (isApi) this.requests.push({ method, path: url.pathname, idempotencyKey, replayed, status: reply.status });
      send(res, reply, requestId);
    };

    if (isApi) {
      if (!/^Bearer (sk|rk)_(test|live)_\w+$/.test(header(req, 'authorization') ?? '')) {
        return record(errorReply(new StripeApiError(401, 'invalid_request_error', 'Invalid API Key provided')));
      }
      const failure = this.failures.find((f) => f.times > 0 && (!f.path || url.pathname.startsWith(f.path)));
      if (failure) {
        failure.times--;
        if (failure.kind === 'timeout') {
          this.held.add(res);
          res.on('close', () => this.held.delete(res));
          return;
        }
        return record(
          failure.kind === 429
            ? {
                ...errorReply(
                  new StripeApiError(
                    429,
                    'invalid_request_error',
                    'Too many requests hit the API too quickly (injected by the stand-in).',
                    'rate_limit',
                  ),
                ),
                headers: { 'retry-after': '1' },
              }
            : errorReply(new StripeApiError(500, 'api_error', "Something went wrong on Stripe's end (injected by the stand-in).")),
        );
      }
      if (idempotencyKey) {
        const earlier = this.idempotent.get(idempotencyKey);
        if (earlier && earlier.fingerprint !== fingerprint) {
          return record(
            errorReply(
              new StripeApiError(
                400,
                'idempotency_error',
                `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
              ),
            ),
          );
        }
        if (earlier) return record({ ...earlier.reply, headers: { ...earlier.reply.headers, 'idempotent-replayed': 'true' } }, true);
      }
    }

    const routes: [string, RegExp, (params: string[], input: StripeObject) => Reply][] = isApi
      ? this.api.map(([m, pattern, handler]) => [m, pattern, (params, body) => ({ status: 200, json: handler(params, body) })])
      : this.pages;
    const route = routes.find(([m, pattern]) => m === method && pattern.test(url.pathname));
    let reply: Reply;
    try {
      if (!route) throw new StripeApiError(404, 'invalid_request_error', `Unrecognized request URL (${method}: ${url.pathname}).`);
      reply = route[2](route[1].exec(url.pathname)!.slice(1), input);
    } catch (error) {
      if (!(error instanceof StripeApiError)) throw error;
      reply = errorReply(error);
    }
    // Stripe stores the answer of an idempotent request, errors included, and replays it.
    if (idempotencyKey && reply.status < 500) {
      this.idempotent.set(idempotencyKey, { fingerprint, reply });
    }
    record(reply);
  }

  private expand(object: StripeObject, expand: unknown): StripeObject {
    const paths = Array.isArray(expand) ? (expand as string[]) : [];
    const out = { ...object };
    if (paths.includes('customer') && typeof out.customer === 'string')
      out.customer = this.state.customers.get(out.customer) ?? out.customer;
    if (paths.includes('subscription') && typeof out.subscription === 'string')
      out.subscription = this.state.subscriptions.get(out.subscription) ?? out.subscription;
    return out;
  }

  private listSubscriptions(query: StripeObject): StripeObject {
    const status = query.status as string | undefined;
    const all = [...this.state.subscriptions.values()].filter(
      (s) =>
        (!query.customer || s.customer === query.customer) &&
        (status === 'all' || (status ? s.status === status : !['canceled', 'incomplete_expired'].includes(s.status))),
    );
    const nested = Array.isArray(query.expand) && query.expand.includes('data.customer') ? ['customer'] : [];
    return paginate(all.reverse(), query, '/v1/subscriptions', (s) => this.expand(s, nested));
  }

  private listEvents(query: StripeObject): StripeObject {
    const types = Array.isArray(query.types) ? (query.types as string[]) : query.type ? [String(query.type)] : undefined;
    const created = query.created;
    const inRange = (t: number) =>
      typeof created === 'object' && created !== null
        ? (created.gte === undefined || t >= Number(created.gte)) &&
          (created.gt === undefined || t > Number(created.gt)) &&
          (created.lte === undefined || t <= Number(created.lte)) &&
          (created.lt === undefined || t < Number(created.lt))
        : created === undefined || t === Number(created);
    const matching = this.state.events.filter((e) => (!types || types.includes(e.type)) && inRange(e.created));
    return paginate([...matching].reverse(), query, '/v1/events', (e) => e);
  }
}

/** Newest first, `limit` (1–100, default 10) after the `starting_after` cursor, as Stripe's lists page. */
function paginate(newestFirst: StripeObject[], query: StripeObject, url: string, view: (o: StripeObject) => StripeObject): StripeObject {
  const limit = Math.min(100, Math.max(1, Number(query.limit ?? 10)));
  const start = query.starting_after ? newestFirst.findIndex((o) => o.id === query.starting_after) + 1 : 0;
  if (query.starting_after && start === 0)
    throw new StripeApiError(
      400,
      'invalid_request_error',
      `No such object: '${query.starting_after}'`,
      'resource_missing',
      'starting_after',
    );
  const data = newestFirst.slice(start, start + limit);
  return listObject(data.map(view), start + limit < newestFirst.length, url);
}

function errorReply(error: StripeApiError): Reply {
  const body: StripeObject = { type: error.type, message: error.message };
  if (error.code) body.code = error.code;
  if (error.param) body.param = error.param;
  return { status: error.status, json: { error: body } };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function send(res: ServerResponse, reply: Reply, requestId: string): void {
  const headers: Record<string, string> = { 'request-id': requestId, ...reply.headers };
  if (reply.location) headers.location = reply.location;
  if (reply.html !== undefined) {
    res.writeHead(reply.status, { ...headers, 'content-type': 'text/html; charset=utf-8' }).end(reply.html);
  } else if (reply.json !== undefined) {
    const body = JSON.parse(JSON.stringify(reply.json));
    if (body.error) body.error.request_log_url = `https://dashboard.stripe.com/test/logs/${requestId}`;
    res.writeHead(reply.status, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(body, null, 2));
  } else {
    res.writeHead(reply.status, headers).end();
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
