import { activityView, alertsView, listEvents, statsView } from '../../ops/index.js';
import { activityChart, chartLegend } from '../chart.js';
import { type Html, html } from '../html.js';
import { page } from '../layout.js';
import type { PageContext } from '../routes.js';
import { badge, eventsTable } from './parts.js';

const hourLabel = (iso: string) => `${iso.slice(11, 13)}:00`;
const dayLabel = (iso: string) => iso.slice(5, 10);

function card(label: string, value: string | number, id: string): Html {
  return html`<div class="card" id="${id}"><div class="label">${label}</div><div class="value">${value}</div></div>`;
}

function age(seconds: number | null): string {
  if (seconds === null) return 'none waiting';
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

/** `GET /dashboard/`: activity over 24 h and 7 days, the queue's health, the built-in alerts, the latest dead events. */
export async function overviewPage(context: PageContext): Promise<Html> {
  const { db } = context.store;
  const now = context.now();
  const [day, week, stats, alerts, dead] = await Promise.all([
    activityView(db, '24h', now),
    activityView(db, '7d', now),
    statsView(db, context.metrics),
    alertsView(db, context.alerts, now),
    listEvents(db, { status: 'dead', limit: 5 }),
  ]);
  const total = (key: 'received' | 'applied' | 'failed' | 'dead') => day.buckets.reduce((sum, b) => sum + b[key], 0);
  return page(
    { title: 'Overview', section: 'overview', csrf: context.csrf },
    html`<h1>Overview</h1>
<div class="cards">
${card('Received, 24 h', total('received'), 'received-24h')}
${card('Applied, 24 h', total('applied'), 'applied-24h')}
${card('Failed attempts, 24 h', total('failed'), 'failed-24h')}
${card('Dead now', stats.events.dead ?? 0, 'dead-now')}
${card('Oldest pending', age(stats.oldestPendingAgeSeconds), 'oldest-pending')}
${card('Group fallbacks (this process)', stats.groupFallbacks ?? 0, 'group-fallbacks')}
</div>
${chartLegend()}
<div class="charts">
${activityChart('Last 24 hours, per hour (UTC)', day.buckets, hourLabel)}
${activityChart('Last 7 days, per day (UTC)', week.buckets, dayLabel)}
</div>
<h2>Alerts</h2>
<p class="muted">${alerts.notifying ? 'Notifications go to ALERT_WEBHOOK_URL.' : 'ALERT_WEBHOOK_URL is not set: these are evaluated here, and nothing is sent.'}</p>
<table class="alerts">
<thead><tr><th>Alert</th><th>State</th><th>Now</th></tr></thead>
<tbody>
${alerts.conditions.map((a) => html`<tr><td>${a.title}</td><td>${badge(a.firing ? 'firing' : 'ok')}</td><td>${a.detail}</td></tr>`)}
</tbody>
</table>
<h2>Latest dead events</h2>
${eventsTable(dead.events)}
${dead.events.length ? html`<p><a href="/dashboard/events?status=dead">All dead events</a></p>` : ''}`,
  );
}
