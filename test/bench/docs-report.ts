import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const DOCS = new URL('../../docs/', import.meta.url).pathname;

/** The report files `npm run bench` writes into docs/, by name, and their bytes: to show a run left them alone. */
export function docsReport(): Map<string, Buffer> {
  const files = ['performance.md', ...readdirSync(join(DOCS, 'performance')).map((file) => `performance/${file}`)];
  return new Map(files.map((file) => [file, readFileSync(join(DOCS, file))]));
}
