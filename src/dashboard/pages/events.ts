import type { FastifyBaseLogger } from 'fastify';
import type { WebhookEventStatus } from '../../db/index.js';
import { EVENT_STATUSES, eventDetail, InvalidCursorError, listEvents } from '../../ops/index.js';
import { EventQueue } from '../../subscriptions/index.js';
import { dashboardPath, type Html, html, when } from '../html.js';
import { page } from '../layout.js';
import type { PageContext } from '../routes.js';
import { badge, changesList, eventsTable, replayNotice } from './parts.js';

type Query = Record<string, string | undefined>;
const PAGE_SIZE = 50;

class BadFilterError extends Error {}

/** A `datetime-local` value ("2026-12-03T10:00") is read as UTC, as the dashboard shows every time. */
function timeOf(value: string | undefined, field: string): number | undefined {
  if (!value) return undefined;
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`);
  if (Number.isNaN(ms)) throw new BadFilterError(`${field} is not a date and time`);
  return ms;
}

function filtersForm(query: Query): Html {
  return html`<form class="filters" method="get" action="/dashboard/events">
<label>Status<select name="status"><option value="">any</option>${EVENT_STATUSES.map(
    (s) => html`<option value="${s}"${query.status === s ? html` selected` : ''}>${s}</option>`,
  )}</select></label>
<label>Type<input name="type" value="${query.type ?? ''}" placeholder="customer.subscription.updated"></label>
<label>Received from (UTC)<input type="datetime-local" name="from" value="${query.from ?? ''}"></label>
<label>to<input type="datetime-local" name="to" value="${query.to ?? ''}"></label>
<button type="submit">Filter</button>
</form>`;
}

/** Bulk replay: every dead event of one type, in one form (with the session's CSRF token). */
function replayDeadForm(context: PageContext, type: string | undefined): Html {
  return html`<form class="filters" method="post" action="/dashboard/events/replay-dead">
<input type="hidden" name="csrf" value="${context.csrf}">
<label>Replay every dead event of type<input name="type" required value="${type ?? ''}" placeholder="customer.subscription.updated"></label>
<button type="submit" class="danger" id="replay-dead">Replay all dead of this type</button>
</form>`;
}

/** `GET /dashboard/events`: the list, filtered by status, type and time, newest first, in cursor pages. */
export async function eventsPage(context: PageContext, query: Query): Promise<{ page: Html; status: number }> {
  const show = (content: Html, notice?: Html, status = 200) => ({
    page: page({ title: 'Events', section: 'events', csrf: context.csrf, notice }, html`<h1>Events</h1>${filtersForm(query)}${content}`),
    status,
  });
  if (query.status && !EVENT_STATUSES.includes(query.status as WebhookEventStatus))
    return show(html``, html`<p class="notice error" role="alert">Unknown status ${query.status}.</p>`, 400);
  try {
    const listed = await listEvents(context.store.db, {
      status: (query.status || undefined) as WebhookEventStatus | undefined,
      type: query.type || undefined,
      from: timeOf(query.from, 'from'),
      to: timeOf(query.to, 'to'),
      limit: PAGE_SIZE,
      cursor: query.cursor || undefined,
    });
    const next = listed.nextCursor
      ? html`<p><a id="next-page" href="${dashboardPath(['events'], { ...query, replayed: undefined, reason: undefined, cursor: listed.nextCursor })}">Older events →</a></p>`
      : '';
    const bulk = query.status === 'dead' ? replayDeadForm(context, query.type) : '';
    return show(html`${bulk}${eventsTable(listed.events)}${next}`, replayNotice(query));
  } catch (error) {
    if (error instanceof InvalidCursorError || error instanceof BadFilterError)
      return show(html``, html`<p class="notice error" role="alert">${error.message}.</p>`, 400);
    throw error;
  }
}

/** `GET /dashboard/events/:id`: the event, its attempts, the record changes it made, its payload, and Replay. */
export async function eventPage(context: PageContext, id: string, query: Query): Promise<{ page: Html; status: number }> {
  const event = await eventDetail(context.store.db, id);
  const title = `Event ${id}`;
  if (!event)
    return {
      page: page(
        { title, section: 'events', csrf: context.csrf },
        html`<h1>${title}</h1><p class="notice error" role="alert">No stored event with this id.</p>`,
      ),
      status: 404,
    };
  const content = html`<h1>${event.type} <code>${event.id}</code></h1>
<table class="summary">
<tr><th>Status</th><td id="event-status">${badge(event.status)}</td></tr>
<tr><th>Attempts</th><td>${event.attempts}</td></tr>
<tr><th>Created (Stripe)</th><td>${when(event.created)}</td></tr>
<tr><th>Received</th><td>${when(event.receivedAt)}</td></tr>
<tr><th>Processed</th><td>${when(event.processedAt)}</td></tr>
<tr><th>Next attempt</th><td>${when(event.nextAttemptAt)}</td></tr>
<tr><th>Outcome</th><td>${event.outcome ?? '-'}</td></tr>
<tr><th>Last error</th><td>${event.lastError ?? '-'}</td></tr>
<tr><th>Ordering key</th><td><code>${event.orderingKey ?? '-'}</code></td></tr>
</table>
<form method="post" action="${dashboardPath(['events', event.id, 'replay'])}">
<input type="hidden" name="csrf" value="${context.csrf}">
<button type="submit" class="primary" id="replay">Replay</button>
<span class="muted">puts it back in the queue with a fresh retry budget; applying it again is harmless</span>
</form>
<h2>Attempts</h2>
${
  event.attemptLog.length
    ? html`<table class="attempts"><thead><tr><th class="num">#</th><th>Started</th><th class="num">ms</th><th>Worker</th><th>Outcome</th><th>Error</th></tr></thead><tbody>
${event.attemptLog.map(
  (a) =>
    html`<tr><td class="num">${a.attempt}</td><td>${when(a.startedAt)}</td><td class="num">${a.durationMs}</td><td><code>${a.worker}</code></td><td>${badge(a.outcome)}</td><td>${a.error ?? ''}</td></tr>`,
)}</tbody></table>`
    : html`<p class="muted">Not attempted yet.</p>`
}
<h2>Record changes it made</h2>
${
  event.effects.length
    ? html`<table class="changes"><thead><tr><th>Subscription</th><th>Applied</th><th>Status</th><th>Changes</th></tr></thead><tbody>
${event.effects.map(
  (e) =>
    html`<tr><td><code>${e.subscriptionId}</code></td><td>${when(e.appliedAt)}</td><td>${e.statusBefore ?? '∅'} → ${e.statusAfter}</td><td>${changesList(e.changes)}</td></tr>`,
)}</tbody></table>`
    : html`<p class="muted">No subscription record changed by this event.</p>`
}
<h2>Payload</h2>
<pre id="payload">${JSON.stringify(event.payload, null, 2)}</pre>`;
  return { page: page({ title, section: 'events', csrf: context.csrf, notice: replayNotice(query) }, content), status: 200 };
}

/** `POST /dashboard/events/:id/replay`: where to go next, with what happened. */
export async function replayOne(context: PageContext, id: string, log: FastifyBaseLogger): Promise<string> {
  const outcome = await new EventQueue(context.store).replayOne(id);
  if (outcome === 'replayed') {
    log.info({ eventId: id }, 'event replayed from the dashboard');
    context.onReplayed();
  }
  const reason = outcome === 'in_process' ? 'it is being processed right now; try again shortly' : 'no stored event with this id';
  return dashboardPath(['events', id], outcome === 'replayed' ? { replayed: '1' } : { replayed: '0', reason });
}

/** `POST /dashboard/events/replay-dead`: every dead event of the type, back in the queue. */
export async function replayDeadOfType(context: PageContext, type: string, log: FastifyBaseLogger): Promise<string> {
  const trimmed = type.trim();
  if (!trimmed) return dashboardPath(['events'], { status: 'dead', replayed: '0', reason: 'give an event type' });
  const ids = await new EventQueue(context.store).replay({ status: 'dead', type: trimmed });
  log.info({ type: trimmed, count: ids.length }, 'dead events replayed from the dashboard');
  if (ids.length) context.onReplayed();
  return dashboardPath(['events'], {
    status: 'dead',
    type: trimmed,
    replayed: String(ids.length),
    reason: ids.length ? undefined : 'no dead events of this type',
  });
}
