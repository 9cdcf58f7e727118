import { type Html, html } from './html.js';

export type Section = 'overview' | 'events' | 'users';

const NAV: [Section, string, string][] = [
  ['overview', 'Overview', '/dashboard/'],
  ['events', 'Events', '/dashboard/events'],
  ['users', 'Users', '/dashboard/users'],
];

function document(title: string, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Billing dashboard</title>
<link rel="stylesheet" href="/dashboard/assets/dashboard.css">
</head>
<body>
${body}
</body>
</html>
`;
}

/** A signed-in page: the navigation, a user search, sign-out (a form with the session's CSRF token), and the content. */
export function page(options: { title: string; section: Section; csrf: string; notice?: Html }, content: Html): Html {
  return document(
    options.title,
    html`<header class="top">
  <strong>Billing dashboard</strong>
  <nav>${NAV.map(([section, label, href]) => html`<a href="${href}"${section === options.section ? html` class="active"` : ''}>${label}</a>`)}</nav>
  <form class="inline" method="get" action="/dashboard/users">
    <input type="search" name="query" placeholder="user, cus_, sub_ or email" aria-label="Find a user">
  </form>
  <form class="inline" method="post" action="/dashboard/logout">
    <input type="hidden" name="csrf" value="${options.csrf}">
    <button type="submit" id="sign-out">Sign out</button>
  </form>
</header>
<main>
${options.notice ?? ''}
${content}
</main>`,
  );
}

/** The sign-in form; its CSRF token is the one of the short-lived sign-in cookie. */
export function loginPage(csrf: string, error?: string): Html {
  return document(
    'Sign in',
    html`<main class="login">
  <h1>Billing dashboard</h1>
  <p class="muted">Sign in with the service's <code>ADMIN_TOKEN</code>.</p>
  ${error ? html`<p class="notice error" role="alert">${error}</p>` : ''}
  <form method="post" action="/dashboard/login">
    <input type="hidden" name="csrf" value="${csrf}">
    <label for="token">Admin token</label>
    <input id="token" name="token" type="password" required autocomplete="current-password" autofocus>
    <button type="submit" class="primary">Sign in</button>
  </form>
</main>`,
  );
}

/** A plain page for refusals and missing things, signed in or not. */
export function messagePage(title: string, message: string): Html {
  return document(
    title,
    html`<main><h1>${title}</h1><p class="notice error" role="alert">${message}</p><p><a href="/dashboard/">Back to the dashboard</a></p></main>`,
  );
}
