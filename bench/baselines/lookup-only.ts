import { createServer } from 'node:http';
import { openStore } from '../../src/db/index.js';
import { rowsForTokenHash } from '../../src/entitlements/index.js';
import { hashToken } from '../../src/users/index.js';

/**
 * Diagnostic baseline for entitlement checks: node:http that hashes the bearer token and runs the
 * service's own entitlement query through the same driver, then answers the rows as JSON. No
 * framework, hooks, logs, metrics or decision: what the database lookup alone allows.
 */
const store = await openStore(process.env.DATABASE_URL!, { migrate: false });
const BEARER = /^Bearer (.+)$/;

createServer((request, response) => {
  const token = BEARER.exec(request.headers.authorization ?? '')?.[1];
  if (!token) {
    response.writeHead(401).end();
    return;
  }
  rowsForTokenHash(store.db, hashToken(token)).then(
    (rows) =>
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(rows)),
    () => response.writeHead(500).end(),
  );
}).listen(Number(process.env.PORT), '127.0.0.1');
