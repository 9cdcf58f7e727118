/**
 * Decodes a Stripe-style form body or query string (`metadata[user_id]=u`, `expand[0]=customer`,
 * `line_items[0][price]=p`, `created[gte]=1`) into nested objects and arrays, as Stripe reads it.
 */
export function parseForm(text: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const [head, ...rest] = key.split('[');
    const path = [head!, ...rest.map((part) => part.replace(/\]$/, ''))];
    let node: Record<string, unknown> = root;
    path.forEach((segment, i) => {
      const name = segment === '' ? String(Object.keys(node).length) : segment;
      if (i === path.length - 1) node[name] = value;
      else {
        node[name] ??= {};
        node = node[name] as Record<string, unknown>;
      }
    });
  }
  return arraysFromIndices(root) as Record<string, unknown>;
}

/** Objects whose keys are all indices become arrays, as `a[0]=x&a[1]=y` means a list. */
function arraysFromIndices(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value).map(([k, v]) => [k, arraysFromIndices(v)] as const);
  if (entries.length > 0 && entries.every(([k]) => /^\d+$/.test(k))) {
    return entries.sort(([a], [b]) => Number(a) - Number(b)).map(([, v]) => v);
  }
  return Object.fromEntries(entries);
}
