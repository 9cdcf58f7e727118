import { isIP } from 'node:net';
import { z } from 'zod';

/** Readers of the values that are more than a word or a number; undefined when malformed. */

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "30s,2m,1h" into milliseconds; undefined when any part is malformed. */
export function parseDurationList(text: string): number[] | undefined {
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const out: number[] = [];
  for (const part of parts) {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(part);
    if (!match) return undefined;
    out.push(Math.round(Number(match[1]) * DURATION_UNITS[match[2]!]!));
  }
  return out.length > 0 ? out : undefined;
}

/** One duration such as "72h" in milliseconds; undefined when malformed or not exactly one. */
export function parseDuration(text: string): number | undefined {
  const list = parseDurationList(text);
  return list?.length === 1 ? list[0] : undefined;
}

/** Named ranges that Fastify's proxy-addr understands. */
const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** A hop count, or a list of proxy-addr names and IPv4/IPv6 addresses with an optional /prefix. */
export function parseTrustProxy(text: string): number | string[] | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const entries = text.split(',').map((s) => s.trim());
  const valid = entries.every((entry) => {
    if (PROXY_NAMES.includes(entry)) return true;
    const [address, prefix, ...rest] = entry.split('/');
    return rest.length === 0 && isIP(address ?? '') !== 0 && (prefix === undefined || /^\d{1,3}$/.test(prefix));
  });
  return valid ? entries : undefined;
}

export function parsePriceFeatures(text: string): Record<string, string[]> | undefined {
  try {
    const parsed = z.record(z.string(), z.array(z.string())).safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
