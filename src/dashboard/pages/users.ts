import { findUsers, userDetail } from '../../ops/index.js';
import { dashboardPath, type Html, html, when } from '../html.js';
import { page } from '../layout.js';
import type { PageContext } from '../routes.js';
import { badge, changesList } from './parts.js';

const fromSeconds = (s: number | null) => (s === null ? null : new Date(s * 1000).toISOString());

function searchForm(query: string): Html {
  return html`<form class="filters" method="get" action="/dashboard/users">
<label>User id, Stripe customer id, subscription id or email<input id="user-query" name="query" value="${query}" required></label>
<button type="submit">Find</button>
</form>`;
}

/** `GET /dashboard/users?query=`: one match goes straight to its page (a path); several or none are listed. */
export async function usersPage(context: PageContext, query: string): Promise<Html | string> {
  const trimmed = query.trim();
  const found = trimmed ? await findUsers(context.store.db, trimmed) : [];
  if (found.length === 1) return dashboardPath(['users', found[0]!]);
  const results = !trimmed
    ? ''
    : found.length === 0
      ? html`<p class="notice error" role="alert">No user matches that.</p>`
      : html`<ul>${found.map((id) => html`<li><a href="${dashboardPath(['users', id])}"><code>${id}</code></a></li>`)}</ul>`;
  return page({ title: 'Users', section: 'users', csrf: context.csrf }, html`<h1>Users</h1>${searchForm(trimmed)}${results}`);
}

type Detail = NonNullable<Awaited<ReturnType<typeof userDetail>>>;

function usageTable(usage: Detail['usage']): Html {
  const rows = Object.entries(usage);
  if (rows.length === 0) return html`<p class="muted">No usage quotas are configured (USAGE_LIMITS).</p>`;
  return html`<table class="usage"><thead><tr><th>Feature</th><th class="num">Used</th><th class="num">Limit</th><th class="num">Remaining</th><th>Per</th><th>Resets</th></tr></thead><tbody>
${rows.map(
  ([feature, u]) =>
    html`<tr><td>${feature}</td><td class="num">${u.used}</td><td class="num">${u.limit ?? 'unlimited'}</td><td class="num">${u.remaining ?? '-'}</td><td>${u.per ?? '-'}</td><td>${when(u.resetsAt)}</td></tr>`,
)}</tbody></table>`;
}

function subscriptionSection(s: Detail['subscriptions'][number]): Html {
  return html`<section class="subscription">
<h3><code>${s.id}</code> ${badge(s.status)}</h3>
<p class="muted">customer <code>${s.customerId}</code> · price <code>${s.priceId ?? '-'}</code> · product <code>${s.productId ?? '-'}</code> · period ends ${when(fromSeconds(s.currentPeriodEnd))}${s.cancelAtPeriodEnd ? ' · cancels at period end' : ''}</p>
<table class="history"><thead><tr><th>Event</th><th>Created (Stripe)</th><th>Applied</th><th>Status</th><th>Changes</th></tr></thead><tbody>
${s.history.map(
  (h) =>
    html`<tr><td><a href="${dashboardPath(['events', h.eventId])}"><code>${h.eventId}</code></a><br><span class="muted">${h.eventType}</span></td><td>${when(h.eventCreated)}</td><td>${when(h.appliedAt)}</td><td>${h.statusBefore ?? '∅'} → ${h.statusAfter}</td><td>${changesList(h.changes)}</td></tr>`,
)}</tbody></table>
</section>`;
}

/** `GET /dashboard/users/:id`: the entitlement now, each subscription with its full history, usage, customers and linked installs. */
export async function userPage(context: PageContext, id: string): Promise<{ page: Html; status: number }> {
  const detail = await userDetail(context.entitlements, context.quotas, id);
  const title = `User ${id}`;
  if (!detail)
    return {
      page: page(
        { title, section: 'users', csrf: context.csrf },
        html`<h1>${title}</h1><p class="notice error" role="alert">No user or linked customer with this id.</p>`,
      ),
      status: 404,
    };
  const { entitlement } = detail;
  const content = html`<h1>User <code>${detail.userId}</code></h1>
<p class="muted">created ${when(detail.createdAt)}</p>
<h2>Entitlement now</h2>
<p id="entitlement">${badge(entitlement.premium ? 'premium' : 'not premium')} reason <code>${entitlement.reason}</code></p>
<pre>${JSON.stringify(entitlement, null, 2)}</pre>
<h2>Subscriptions</h2>
${detail.subscriptions.length ? detail.subscriptions.map(subscriptionSection) : html`<p class="muted">No subscriptions.</p>`}
<h2>Usage</h2>
${usageTable(detail.usage)}
<h2>Stripe customers</h2>
${
  detail.customers.length
    ? html`<ul>${detail.customers.map((c) => html`<li><code>${c.id}</code> linked by ${c.linkedBy}${c.deleted ? ' (deleted)' : ''}</li>`)}</ul>`
    : html`<p class="muted">No linked customer.</p>`
}
<h2>Installs linked to this account</h2>
${
  detail.installs.length
    ? html`<ul id="installs">${detail.installs.map((i) => html`<li><code>${i.userId}</code>, created ${when(i.createdAt)}</li>`)}</ul>`
    : html`<p class="muted">No other install acts for this account.</p>`
}`;
  return { page: page({ title, section: 'users', csrf: context.csrf }, content), status: 200 };
}
