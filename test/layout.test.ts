import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layout of src/ (README, "Layout"): code outside a top-level folder enters it only through
 * its index.ts, the folders import one another without cycles, and no file is longer than 300
 * lines. The files directly in src/ are the composition root (the folder '.' below): they too
 * enter folders through index.ts, and a folder may import one of them (the CLI uses startup.ts).
 * The checks are pure functions of the imports, so the table tests below can show they catch
 * what they look for.
 */

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const MAX_LINES = 300;

/** One import between files of src/, both as paths relative to src/ with forward slashes. */
interface Import {
  from: string;
  to: string;
}

/** Specifiers of a module's imports and re-exports, type-only ones included: `… from '…'`, `import '…'` and `import('…')`. */
function importSpecifiers(source: string): string[] {
  const patterns = [
    // Up to the first quote or semicolon, so that a statement spanning lines is read whole and no other statement is.
    /^\s*(?:import|export)\s[^;'"`]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1]!));
}

/** The file a specifier names, relative to src/; undefined for a package or a file outside src/. */
function resolveImport(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const target = posix.normalize(posix.join(posix.dirname(from), specifier)).replace(/\.js$/, '.ts');
  return target.startsWith('../') ? undefined : target;
}

/** The top-level folder of src/ a file is in; '.' for the files directly in src/. */
function folderOf(file: string): string {
  const slash = file.indexOf('/');
  return slash === -1 ? '.' : file.slice(0, slash);
}

/** Imports that enter another top-level folder anywhere but at its index.ts. */
function deepImports(imports: readonly Import[]): Import[] {
  return imports.filter(({ from, to }) => {
    const folder = folderOf(to);
    return folder !== '.' && folder !== folderOf(from) && to !== `${folder}/index.ts`;
  });
}

/** The folders each folder imports; imports within a folder are no edge. */
function folderGraph(imports: readonly Import[]): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const { from, to } of imports) {
    const [source, target] = [folderOf(from), folderOf(to)];
    if (source === target) continue;
    const targets = graph.get(source) ?? new Set<string>();
    graph.set(source, targets.add(target));
  }
  return graph;
}

/** One cycle of the graph, its first node repeated at the end (`['http', 'ops', 'http']`); undefined when there is none. */
function findCycle(graph: ReadonlyMap<string, ReadonlySet<string>>): string[] | undefined {
  const finished = new Set<string>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    const at = path.indexOf(node);
    if (at !== -1) return [...path.slice(at), node];
    if (finished.has(node)) return undefined;
    path.push(node);
    for (const next of [...(graph.get(node) ?? [])].sort()) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    finished.add(node);
    return undefined;
  };
  for (const node of [...graph.keys()].sort()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

/** Each edge of a cycle with one import that makes it, for the failure message. */
function describeCycle(cycle: readonly string[], imports: readonly Import[]): string[] {
  return cycle.slice(1).map((target, i) => {
    const source = cycle[i]!;
    const example = imports.find(({ from, to }) => folderOf(from) === source && folderOf(to) === target)!;
    return `${source} → ${target} (${example.from} imports ${example.to})`;
  });
}

/** Lines as `wc -l` counts them, plus an unterminated last one. */
function lineCount(text: string): number {
  const newlines = text.split('\n').length - 1;
  return text === '' || text.endsWith('\n') ? newlines : newlines + 1;
}

const show = (imports: readonly Import[]) => imports.map(({ from, to }) => `${from} → ${to}`);

describe('the layout of src/', () => {
  const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => file.split(sep).join('/'))
    .sort();
  const texts = new Map(files.map((file) => [file, readFileSync(join(SRC, file), 'utf8')]));
  // An import of a file that does not exist is tsc's to report.
  const imports = files.flatMap((from) =>
    importSpecifiers(texts.get(from)!)
      .map((specifier) => resolveImport(from, specifier))
      .filter((to): to is string => to !== undefined && texts.has(to))
      .map((to) => ({ from, to })),
  );

  it('reads the imports of every file', () => {
    expect(files).toContain('server.ts');
    expect(imports).toContainEqual({ from: 'server.ts', to: 'db/index.ts' });
  });

  it("code outside a top-level folder imports only the folder's index.ts", () => {
    expect(show(deepImports(imports))).toEqual([]);
  });

  it('the top-level folders import one another without cycles', () => {
    const cycle = findCycle(folderGraph(imports));
    expect(cycle && describeCycle(cycle, imports)).toBeUndefined();
  });

  it(`no file is longer than ${MAX_LINES} lines`, () => {
    const long = files
      .filter((file) => lineCount(texts.get(file)!) > MAX_LINES)
      .map((file) => `${file}: ${lineCount(texts.get(file)!)} lines`);
    expect(long).toEqual([]);
  });
});

describe('the layout checks, on made-up imports', () => {
  it.each<[string, Import[], string[]]>([
    ['a folder entered at its index.ts', [{ from: 'ops/admin.ts', to: 'db/index.ts' }], []],
    ['a deep import', [{ from: 'ops/admin.ts', to: 'http/invalid-request.ts' }], ['ops/admin.ts → http/invalid-request.ts']],
    ['a root file importing past an index.ts', [{ from: 'server.ts', to: 'users/rate-limit.ts' }], ['server.ts → users/rate-limit.ts']],
    [
      'the index.ts of a folder inside a folder',
      [{ from: 'ops/views.ts', to: 'subscriptions/handlers/index.ts' }],
      ['ops/views.ts → subscriptions/handlers/index.ts'],
    ],
    ['files of one folder', [{ from: 'cli/commands/user.ts', to: 'cli/commands/output.ts' }], []],
    ['a folder importing a root file', [{ from: 'cli/main.ts', to: 'startup.ts' }], []],
  ])('deepImports: %s', (_case, imports, expected) => {
    expect(show(deepImports(imports))).toEqual(expected);
  });

  it.each<[string, Import[], string[] | undefined]>([
    [
      'one-way imports',
      [
        { from: 'ops/admin.ts', to: 'http/index.ts' },
        { from: 'http/index.ts', to: 'config/index.ts' },
      ],
      undefined,
    ],
    [
      'two folders importing each other',
      [
        { from: 'http/index.ts', to: 'ops/index.ts' },
        { from: 'ops/admin.ts', to: 'http/index.ts' },
      ],
      ['http', 'ops', 'http'],
    ],
    [
      'a longer cycle, through the root',
      [
        { from: 'main.ts', to: 'ops/index.ts' },
        { from: 'ops/index.ts', to: 'users/index.ts' },
        { from: 'users/index.ts', to: 'startup.ts' },
        { from: 'startup.ts', to: 'db/index.ts' },
      ],
      ['.', 'ops', 'users', '.'],
    ],
    [
      'files of one folder importing each other',
      [
        { from: 'db/index.ts', to: 'db/named-lock.ts' },
        { from: 'db/named-lock.ts', to: 'db/index.ts' },
      ],
      undefined,
    ],
  ])('findCycle: %s', (_case, imports, expected) => {
    expect(findCycle(folderGraph(imports))).toEqual(expected);
  });

  it('names an import behind each edge of a cycle', () => {
    const imports = [
      { from: 'http/index.ts', to: 'ops/index.ts' },
      { from: 'ops/admin.ts', to: 'http/index.ts' },
    ];
    expect(describeCycle(['http', 'ops', 'http'], imports)).toEqual([
      'http → ops (http/index.ts imports ops/index.ts)',
      'ops → http (ops/admin.ts imports http/index.ts)',
    ]);
  });

  it.each<[string, string, string[]]>([
    ['an import over several lines', "import {\n  a,\n  type B,\n} from '../db/index.js';\n", ['../db/index.js']],
    [
      'type-only imports and re-exports',
      "import type { A } from './a.js';\nexport type { B } from './b.js';\nexport * from './c.js';\n",
      ['./a.js', './b.js', './c.js'],
    ],
    ['side-effect and dynamic imports', "import './setup.js';\nconst m = await import('./lazy.js');\n", ['./setup.js', './lazy.js']],
    ['no statement but imports', "export const from = 'x';\nconst text = \"import a from './not.js'\";\n// see from './nor.js'\n", []],
  ])('importSpecifiers: %s', (_case, source, expected) => {
    expect(importSpecifiers(source).sort()).toEqual(expected.sort());
  });

  it.each<[string, string, string | undefined]>([
    ['ops/admin.ts', '../http/index.js', 'http/index.ts'],
    ['server.ts', './users/index.js', 'users/index.ts'],
    // Two levels up from src/cli/commands (built, so that the repository scan does not read it as a path from this file).
    ['cli/commands/user.ts', `${'../'.repeat(2)}ops/index.js`, 'ops/index.ts'],
    ['cli/main.ts', '../startup.js', 'startup.ts'],
    ['server.ts', 'fastify', undefined],
    ['server.ts', '../package.json', undefined],
  ])('resolveImport(%s, %s) is %s', (from, specifier, expected) => {
    expect(resolveImport(from, specifier)).toBe(expected);
  });

  it.each([
    ['', 0],
    ['one line\n', 1],
    ['two\nlines', 2],
  ])('lineCount(%j) is %i', (text, expected) => {
    expect(lineCount(text)).toBe(expected);
  });
});
