import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { repoRoot } from '../support/repo.js';

/**
 * The layers of src/, bottom first. A file may import from its own folder or from a folder of a lower rank,
 * never from a higher one. Folders of the same rank do not import each other, except along SAME_RANK below.
 */
const RANKS: Readonly<Record<string, number>> = {
  api: 0,
  core: 1,
  util: 2,
  nixstore: 3,
  ssh: 3,
  kube: 3,
  state: 4,
  source: 4,
  evaluate: 4,
  plan: 4,
  keys: 4,
  cache: 4,
  providers: 5,
  observe: 6,
  apply: 6,
  report: 6,
  reconcile: 7,
  controller: 8,
  metrics: 8,
  fleet: 8,
  cli: 9,
};

/**
 * The only imports between folders of one rank, each one way. The SSH sessions hash NARs as the local store does;
 * the observing and applying stages return what the report is assembled from (its types are the report's), and
 * the applies reuse the observed context, its sessions and its facts; the controllers count what they do in the
 * metrics and feed the fleet page, which is served on the metrics server.
 */
const SAME_RANK: readonly string[] = [
  'ssh -> nixstore',
  'keys -> plan',
  'observe -> report',
  'apply -> observe',
  'apply -> report',
  'controller -> metrics',
  'controller -> fleet',
  'fleet -> metrics',
];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

// Static imports, `export ... from` and `import('...')`, types included: a type import is a dependency too.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;

/** Each src file (relative to src/, as posix paths) with the src files it imports. */
function importGraph(src: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(src)) {
    const from = relative(src, file).split('\\').join('/');
    const targets = [...readFileSync(file, 'utf8').matchAll(SPECIFIER)].map((m) =>
      posix.normalize(posix.join(posix.dirname(from), m[1]!.replace(/\.js$/, '.ts'))),
    );
    graph.set(from, targets);
  }
  return graph;
}

const folderOf = (file: string): string => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '.');

function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): string[] | undefined => {
    if (state.get(file) === 'done') return undefined;
    if (state.get(file) === 'open') return [...path.slice(path.indexOf(file)), file];
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(file, 'done');
    return undefined;
  };
  for (const file of graph.keys()) {
    const cycle = visit(file);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('source layout', () => {
  const src = join(repoRoot(), 'src');
  const graph = importGraph(src);

  it('finds the source files and their imports', () => {
    assert.ok(graph.size > 50, `only ${graph.size} files under ${src}`);
    assert.ok([...graph.values()].some((targets) => targets.length > 0));
  });

  it('puts every file in a folder of the layer table', () => {
    const outside = [...graph.keys()].filter((f) => RANKS[folderOf(f)] === undefined);
    assert.deepEqual(outside, [], `files in folders without a rank: ${outside.join(', ')}`);
  });

  it('imports only files that exist', () => {
    const missing = [...graph].flatMap(([f, targets]) =>
      targets.filter((t) => !graph.has(t)).map((t) => `${f} -> ${t}`),
    );
    assert.deepEqual(missing, []);
  });

  it('never imports from a higher layer, nor sideways except along the listed directions', () => {
    const wrong: string[] = [];
    for (const [file, targets] of graph) {
      const from = folderOf(file);
      for (const target of targets) {
        const to = folderOf(target);
        if (from === to) continue;
        const [a, b] = [RANKS[from], RANKS[to]];
        if (a === undefined || b === undefined) continue;
        if (b > a || (b === a && !SAME_RANK.includes(`${from} -> ${to}`))) {
          wrong.push(`${file} (${from}, rank ${a}) -> ${target} (${to}, rank ${b})`);
        }
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('has no import cycle between files', () => {
    const cycle = findCycle(graph);
    assert.equal(cycle, undefined, `import cycle: ${cycle?.join(' -> ')}`);
  });

  it('lists same-rank directions that do not form a cycle themselves', () => {
    for (const edge of SAME_RANK) {
      const [from, to] = edge.split(' -> ') as [string, string];
      assert.equal(RANKS[from], RANKS[to], `${edge} is not a same-rank direction`);
      assert.ok(!SAME_RANK.includes(`${to} -> ${from}`), `${edge} goes both ways`);
    }
  });
});
