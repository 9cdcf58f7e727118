import { describe, expect, it } from 'vitest';
import { piecesOf } from '../../bench/pieces.js';

/** A CPU profile's samples, each counted for the innermost frame of its stack that belongs to a known piece. */
describe('bench/pieces.ts: a CPU profile split into pieces', () => {
  const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({
    id,
    callFrame: { functionName, url },
    children,
  });
  // root → node:http parser → fastify handler → route → token.ts sign → node:crypto sign → (native)
  //                                              route → read-model → better-sqlite3
  //      → (idle), (garbage collector), (program)
  const nodes = [
    frame(1, '(root)', '', [2, 9, 10, 11]),
    frame(2, 'parserOnIncoming', 'node:_http_server', [3]),
    frame(3, 'handler', 'file:///app/node_modules/fastify/lib/handle-request.js', [4]),
    frame(4, 'route', 'file:///app/src/entitlements/routes.js', [5, 7]),
    frame(5, 'sign', 'file:///app/src/entitlements/token.js', [6]),
    frame(6, 'sign', 'node:internal/crypto/sig', [12]),
    frame(7, 'rowsForTokenHash', 'file:///app/src/entitlements/read-model.js', [8]),
    frame(8, 'all', 'file:///app/node_modules/better-sqlite3/lib/methods/wrappers.js'),
    frame(9, '(idle)', ''),
    frame(10, '(garbage collector)', ''),
    frame(11, '(program)', ''),
    frame(12, '', ''),
  ];

  it.each<[string, number, string | null]>([
    ['a native under node:crypto counts for the signing that called it', 12, 'signing the token'],
    ['a driver frame counts for the database', 8, 'the database (queries, batching, the driver; for intake the store)'],
    ['Fastify itself', 3, 'Fastify (routing, hooks, reply, serialising)'],
    ['node:http below Fastify', 2, 'node:http and sockets'],
    ['garbage collection', 10, 'garbage collection'],
    ['V8 itself', 11, 'other (V8, unattributed natives)'],
    ['idle is left out', 9, null],
  ])('%s', (_name, sample, piece) => {
    // Sample 2 (node:http) first: the samples from the first request on count.
    const counts = piecesOf(nodes, [2, sample, sample]);
    expect(counts.get(piece ?? '') ?? 0).toBe(piece === null ? 0 : sample === 2 ? 3 : 2);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(piece === null ? 1 : 3);
  });

  it('leaves out start-up: the samples before the first HTTP request', () => {
    expect([...piecesOf(nodes, [10, 11, 2, 8])]).toEqual([
      ['node:http and sockets', 1],
      ['the database (queries, batching, the driver; for intake the store)', 1],
    ]);
  });
});
