/**
 * HTML built only from templates: every interpolated value is escaped unless it is itself `Html`
 * made by `html`. Nothing from an event, a user or a query string can become markup, whatever
 * it holds; values go between tags or inside double-quoted attributes, never elsewhere.
 */
export class Html {
  constructor(readonly text: string) {}
}

type Part = Html | string | number | boolean | null | undefined | readonly Part[];

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

function render(part: Part): string {
  if (part instanceof Html) return part.text;
  if (Array.isArray(part)) return part.map(render).join('');
  if (part === null || part === undefined || typeof part === 'boolean') return '';
  return escapeHtml(String(part));
}

export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let text = strings[0]!;
  for (let i = 0; i < values.length; i++) text += render(values[i]!) + strings[i + 1]!;
  return new Html(text);
}

/** A path under /dashboard/ with its segments encoded, and a query string of the defined values. */
export function dashboardPath(segments: string[], query: Record<string, string | undefined> = {}): string {
  const path = `/dashboard/${segments.map(encodeURIComponent).join('/')}`;
  const search = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
  return search.size ? `${path}?${search}` : path;
}

/** ISO time as "2026-12-03 18:55:31 UTC"; "-" for none. */
export function when(iso: string | null | undefined): string {
  return iso ? `${iso.slice(0, 19).replace('T', ' ')} UTC` : '-';
}
