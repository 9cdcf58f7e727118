/** Signing in to the dashboard over plain HTTP, as a browser's form would, for the tests that need no browser. */

export interface FormAnswer {
  status: number;
  location: string | null;
  setCookies: string[];
  html: string;
}

async function answer(response: Response): Promise<FormAnswer> {
  return {
    status: response.status,
    location: response.headers.get('location'),
    setCookies: response.headers.getSetCookie(),
    html: await response.text(),
  };
}

/** The `value` of the form's hidden `csrf` field in a page. */
export function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no CSRF field in the page');
  return match[1]!;
}

/** `name=value` of a Set-Cookie line, for a Cookie header. */
const cookiePair = (setCookie: string) => setCookie.split(';')[0]!;

export async function getPage(baseUrl: string, path: string, cookie?: string): Promise<FormAnswer> {
  return answer(await fetch(`${baseUrl}${path}`, { redirect: 'manual', headers: cookie ? { cookie } : {} }));
}

/** A form post with the page's own Origin unless told otherwise (`origin: null` sends none). */
export async function postForm(
  baseUrl: string,
  path: string,
  fields: Record<string, string>,
  options: { cookie?: string; origin?: string | null } = {},
): Promise<FormAnswer> {
  const origin = options.origin === undefined ? baseUrl : options.origin;
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (origin !== null) headers.origin = origin;
  if (options.cookie) headers.cookie = options.cookie;
  return answer(await fetch(`${baseUrl}${path}`, { method: 'POST', redirect: 'manual', headers, body: new URLSearchParams(fields) }));
}

/** Signs in with `token`; the answer of the sign-in post, and the session cookie when it set one. */
export async function signIn(baseUrl: string, token: string): Promise<FormAnswer & { session?: string }> {
  const login = await getPage(baseUrl, '/dashboard/login');
  const loginCookie = cookiePair(login.setCookies[0]!);
  const posted = await postForm(baseUrl, '/dashboard/login', { token, csrf: csrfOf(login.html) }, { cookie: loginCookie });
  const session = posted.setCookies.find((c) => c.startsWith('billing_dashboard='));
  return { ...posted, ...(session ? { session: cookiePair(session) } : {}) };
}
