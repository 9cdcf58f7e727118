import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

/**
 * `npm run build:extension -- [--server-url URL] [--out DIR]`: bundles the example extension into
 * a folder that Chrome's "Load unpacked" accepts. The service URL is fixed at build time.
 */
const here = dirname(fileURLToPath(import.meta.url));

export async function buildExtension(options: { serverUrl: string; outDir: string }): Promise<string> {
  const outDir = resolve(options.outDir);
  const serverUrl = new URL(options.serverUrl).origin; // validates, and drops any path
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: { background: join(here, 'example/background.ts'), popup: join(here, 'example/popup.ts') },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    target: 'chrome120',
    define: { BILLING_SERVER_URL: JSON.stringify(serverUrl) },
    logLevel: 'warning',
  });
  for (const file of ['manifest.json', 'popup.html', 'popup.css']) cpSync(join(here, 'example', file), join(outDir, file));
  return outDir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { 'server-url': { type: 'string', default: 'http://127.0.0.1:3000' }, out: { type: 'string', default: 'dist/extension' } },
  });
  const out = await buildExtension({ serverUrl: values['server-url']!, outDir: values.out! });
  console.log(`Extension built in ${out} for ${values['server-url']}: load it with chrome://extensions → Developer mode → Load unpacked.`);
}
