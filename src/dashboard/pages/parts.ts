import type { EventSummary } from '../../ops/index.js';
import { dashboardPath, type Html, html, when } from '../html.js';

export const badge = (status: string): Html => html`<span class="badge ${status}">${status}</span>`;

/** The events table of the event list and the overview's latest dead events. */
export function eventsTable(events: EventSummary[]): Html {
  if (events.length === 0) return html`<p class="muted">No events.</p>`;
  return html`<table class="events">
<thead><tr><th>Event</th><th>Type</th><th>Status</th><th class="num">Attempts</th><th>Received</th><th>Last error</th></tr></thead>
<tbody>
${events.map(
  (e) => html`<tr>
<td><a href="${dashboardPath(['events', e.id])}"><code>${e.id}</code></a></td>
<td>${e.type}</td>
<td>${badge(e.status)}</td>
<td class="num">${e.attempts}</td>
<td>${when(e.receivedAt)}</td>
<td>${e.lastError ?? ''}</td>
</tr>`,
)}
</tbody>
</table>`;
}

/** A notice from a redirect's query string (`?replayed=…`): what the last action did. */
export function replayNotice(query: Record<string, string | undefined>): Html | undefined {
  if (query.replayed === undefined) return undefined;
  const n = Number(query.replayed);
  return Number.isInteger(n) && n > 0
    ? html`<p class="notice done" role="status">Replayed ${n} event${n === 1 ? '' : 's'}: back in the queue; the worker applies ${n === 1 ? 'it' : 'them'} shortly.</p>`
    : html`<p class="notice error" role="alert">Nothing was replayed${query.reason ? html`: ${query.reason}` : ''}.</p>`;
}

/** "field: before → after", one per line. */
export function changesList(changes: Record<string, [unknown, unknown]>): Html {
  const entries = Object.entries(changes);
  if (entries.length === 0) return html`<span class="muted">nothing</span>`;
  return html`${entries.map(([field, [before, after]]) => html`<div><code>${field}</code>: ${JSON.stringify(before)} → ${JSON.stringify(after)}</div>`)}`;
}
