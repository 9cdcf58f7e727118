import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm run bench:pieces -- DIR [--match TEXT]`: where a service's CPU went, piece by piece, from the
 * V8 CPU profiles `npm run bench -- --cpu-prof DIR` wrote. Each sample counts for the innermost
 * frame on its stack that belongs to a known piece (the lookup, signing, the log line, metrics,
 * the hooks, Fastify, node:http…), so a piece's share includes what it called in libraries and
 * natives, and no sample counts twice. Idle samples, and those before the first HTTP request
 * (start-up), are left out.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  hitCount?: number;
  children?: number[];
}

/** First match wins, tried on a stack from its innermost frame outwards. */
const PIECES: [piece: string, matches: (url: string, fn: string) => boolean][] = [
  ['signing the token', (url) => url.includes('/src/entitlements/token.')],
  ['the decision', (url) => url.includes('/src/entitlements/decide.') || url.includes('/src/entitlements/trial.')],
  ['usage in the answer', (url) => url.includes('/src/usage/')],
  ['the log line (pino)', (url, fn) => /\/(pino|sonic-boom|pino-std-serializers)\//.test(url) || fn === 'requestCompleted'],
  [
    'metrics (prom-client, the response hook)',
    (url, fn) => url.includes('/prom-client/') || (url.includes('/src/http/surface.') && fn === ''),
  ],
  ['rate limiting', (url) => url.includes('/src/users/rate-limit.')],
  ['security headers', (url) => url.includes('/src/http/security-headers.')],
  ['CORS', (url) => url.includes('/src/http/cors.')],
  ['reading the token, its hash', (url) => url.includes('/src/users/')],
  [
    'the database (queries, batching, the driver; for intake the store)',
    (url) => /\/src\/(db|entitlements)\//.test(url) || /\/(better-sqlite3|kysely|pg|pg-protocol|pg-pool)\//.test(url),
  ],
  ['webhook intake (verify, store)', (url) => /\/src\/webhooks\/|\/stripe\//.test(url)],
  ['the sync worker', (url) => url.includes('/src/subscriptions/')],
  [
    'Fastify (routing, hooks, reply, serialising)',
    (url) => /\/(fastify|find-my-way|@fastify|avvio|fast-json-stringify|light-my-request)\//.test(url),
  ],
  // Crypto counts for its caller (signing, hashing the token, verifying a webhook).
  ['node:http and sockets', (url) => url.startsWith('node:') && !url.includes('crypto')],
  ['garbage collection', (_url, fn) => fn === '(garbage collector)'],
];
const OTHER = 'other (V8, unattributed natives)';

/**
 * The pieces of the samples from the first HTTP request on: what comes before is start-up (loading
 * modules, migrations), which a per-request cost must not include.
 */
export function piecesOf(nodes: ProfileNode[], samples: number[]): Map<string, number> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const servesHttp = (id: number): boolean => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at))
      if (byId.get(at)!.callFrame.url === 'node:_http_server') return true;
    return false;
  };
  const firstRequest = samples.findIndex(servesHttp);
  const pieceOfNode = new Map<number, string | null>();
  const pieceOf = (id: number): string | null => {
    const known = pieceOfNode.get(id);
    if (known !== undefined) return known;
    const { functionName, url } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') return null;
    const own = PIECES.find(([, matches]) => matches(url, functionName))?.[0];
    const up = parent.get(id);
    const piece = own ?? (up === undefined ? OTHER : pieceOf(up));
    pieceOfNode.set(id, piece);
    return piece;
  };
  const counts = new Map<string, number>();
  for (const id of firstRequest < 0 ? [] : samples.slice(firstRequest)) {
    const piece = pieceOf(id);
    if (piece !== null) counts.set(piece, (counts.get(piece) ?? 0) + 1);
  }
  return counts;
}

function main(): void {
  const [dir, ...rest] = process.argv.slice(2);
  if (!dir) throw new Error('usage: npm run bench:pieces -- DIR [--match TEXT]  (DIR from npm run bench -- --cpu-prof DIR)');
  const match = rest[0] === '--match' ? rest[1] : undefined;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile') && (!match || f.includes(match)))) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
    const counts = piecesOf(profile.nodes, profile.samples);
    const busy = [...counts.values()].reduce((a, b) => a + b, 0);
    console.log(`\n${file}: ${busy} busy samples`);
    for (const [piece, n] of [...counts].sort((a, b) => b[1] - a[1]))
      console.log(`  ${((n / busy) * 100).toFixed(1).padStart(5)} %  ${piece}`);
  }
}

if (process.argv[1]?.endsWith('pieces.ts')) main();
