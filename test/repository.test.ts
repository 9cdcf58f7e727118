import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runProcess } from './helpers/processes.js';

/**
 * A user's clone is all there is: nothing the project runs, tests or builds may read a path
 * outside the repository (such as a reference folder beside the checkout on some machine).
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CHECKED = ['src/', 'test/', 'bench/', 'tools/', 'extension/', '.ci/', 'scripts/', 'ops/', 'docs/'];
const CHECKED_TOP_LEVEL = ['package.json', 'tsconfig.json', 'vitest.config.ts', 'README.md'];
// Spelled in pieces so that this file does not match itself.
const FORBIDDEN = [['..', 'shared'].join('/'), ['', 'work', 'shared'].join('/')];

/**
 * Tracked files plus new ones not yet added (so a fresh reference fails before it is committed);
 * in a copy without git (a downloaded archive), every file under the checked folders.
 */
async function projectFiles(): Promise<string[]> {
  let listed: string[];
  const git = await runProcess('git', [
    'ls-files',
    '-z',
    '--cached',
    '--others',
    '--exclude-standard',
    '--',
    ...CHECKED,
    ...CHECKED_TOP_LEVEL,
  ]).catch(() => undefined);
  if (git?.code === 0) {
    listed = git.stdout.split('\0').filter(Boolean);
  } else {
    const ignored = /(^|\/)(node_modules|dist|data|coverage|test-results|\.bench)(\/|$)/;
    listed = [
      ...CHECKED.filter((dir) => existsSync(join(ROOT, dir))).flatMap((dir) =>
        readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' }).map((f) => join(dir, f)),
      ),
      ...CHECKED_TOP_LEVEL,
    ].filter((file) => !ignored.test(file));
  }
  return [...new Set(listed)].filter((file) => existsSync(join(ROOT, file)) && statSync(join(ROOT, file)).isFile());
}

function text(file: string): string | undefined {
  const bytes = readFileSync(join(ROOT, file));
  return bytes.includes(0) ? undefined : bytes.toString('utf8');
}

/**
 * Relative path literals (`'../x'`, `"./y"`, `` `../z/${a}` ``, markdown `](../w)`), resolved
 * against the file's own folder, as `new URL(…, import.meta.url)` and links are.
 */
function escapingPaths(file: string, content: string): string[] {
  const found: string[] = [];
  for (const match of content.matchAll(/(?:['"`]|\]\()((?:\.\.?\/)*\.\.(?=['"`/)$])[^'"`)\s$]*)/g)) {
    const target = resolve(ROOT, dirname(file), match[1]!);
    const inside = relative(ROOT, target);
    if (inside.startsWith('..') || isAbsolute(inside)) found.push(match[1]!);
  }
  return found;
}

describe('the repository is self-contained', () => {
  let files: string[] = [];
  beforeAll(async () => {
    files = await projectFiles();
  });

  it('lists the project files', () => {
    expect(files).toContain('test/repository.test.ts');
    expect(files.filter((f) => f.startsWith('src/')).length).toBeGreaterThan(10);
  });

  it(`no file names ${FORBIDDEN.join(' or ')}`, () => {
    const offenders = files.flatMap((file) => {
      const content = text(file);
      return content === undefined ? [] : FORBIDDEN.filter((needle) => content.includes(needle)).map((needle) => `${file}: ${needle}`);
    });
    expect(offenders).toEqual([]);
  });

  it('no relative path in a file leads outside the repository root', () => {
    const offenders = files.flatMap((file) => {
      const content = text(file);
      return content === undefined ? [] : escapingPaths(file, content).map((path) => `${file}: ${path}`);
    });
    expect(offenders).toEqual([]);
  });

  it('the check catches a path out of the repository', () => {
    // Built at run time so that these examples do not trip the scan of this very file.
    const up = (levels: number) => '../'.repeat(levels);
    expect(escapingPaths('bench/events.ts', `new URL('${up(2)}elsewhere/x.json', import.meta.url)`)).toEqual([`${up(2)}elsewhere/x.json`]);
    expect(escapingPaths('test/helpers/x.ts', `new URL(\`${up(3)}y/\`, import.meta.url)`)).toEqual([`${up(3)}y/`]);
    expect(escapingPaths('docs/a.md', `see [it](${up(2)}z.md)`)).toEqual([`${up(2)}z.md`]);
    expect(escapingPaths('test/helpers/events.ts', "new URL('../fixtures/stripe/', import.meta.url)")).toEqual([]);
    expect(escapingPaths('bench/run.ts', "resolve(import.meta.dirname, '..')")).toEqual([]);
  });
});
