import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

/**
 * `npm run build:extension -- [--server-url URL] [--seller-url URL] [--out DIR]`: bundles the
 * example extension into a folder that Chrome's "Load unpacked" accepts. The service URL and the
 * optional URL of the seller's own premium route (which the popup calls with the entitlement
 * token) are fixed at build time, and the manifest's `host_permissions` cover both.
 */
const here = dirname(fileURLToPath(import.meta.url));

export async function buildExtension(options: { serverUrl: string; sellerUrl?: string; outDir: string }): Promise<string> {
  const outDir = resolve(options.outDir);
  const serverUrl = new URL(options.serverUrl).origin; // validates, and drops any path
  const sellerUrl = options.sellerUrl === undefined ? null : new URL(options.sellerUrl).href; // the route itself: keeps the path
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: { background: join(here, 'example/background.ts'), popup: join(here, 'example/popup.ts') },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    target: 'chrome120',
    define: { BILLING_SERVER_URL: JSON.stringify(serverUrl), SELLER_BACKEND_URL: JSON.stringify(sellerUrl) },
    logLevel: 'warning',
  });
  for (const file of ['popup.html', 'popup.css']) cpSync(join(here, 'example', file), join(outDir, file));
  const manifest = JSON.parse(readFileSync(join(here, 'example/manifest.json'), 'utf8')) as { host_permissions: string[] };
  for (const url of [serverUrl, sellerUrl]) {
    // A match pattern without a port matches every port of the host.
    const pattern = url === null ? null : `${new URL(url).protocol}//${new URL(url).hostname}/*`;
    if (pattern && !manifest.host_permissions.includes(pattern)) manifest.host_permissions.push(pattern);
  }
  writeFileSync(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return outDir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      'server-url': { type: 'string', default: 'http://127.0.0.1:3000' },
      'seller-url': { type: 'string' },
      out: { type: 'string', default: 'dist/extension' },
    },
  });
  const out = await buildExtension({ serverUrl: values['server-url']!, sellerUrl: values['seller-url'], outDir: values.out! });
  console.log(`Extension built in ${out} for ${values['server-url']}: load it with chrome://extensions → Developer mode → Load unpacked.`);
}
