import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { HostObservation } from '../../../src/api/model.js';
import { SharedExports } from '../../../src/reconcile/exports.js';
import type { HostSession, LocalStore } from '../../../src/reconcile/ports.js';

const P = (n: string) => `/nix/store/${n.repeat(32).slice(0, 32)}-${n}`;

/** A store that exports "<path>;" per path and counts how often each path was exported. */
function fakeStore(): LocalStore & { exported: Map<string, number> } {
  const exported = new Map<string, number>();
  return {
    exported,
    realise: async () => undefined,
    isValid: async () => true,
    validPaths: async (p) => new Set(p),
    closure: async (p) => p,
    closures: async () => new Map(),
    exportPaths: (paths) => {
      for (const p of paths) exported.set(p, (exported.get(p) ?? 0) + 1);
      return Readable.from([Buffer.from(paths.map((p) => `${p};`).join(''))]);
    },
  };
}

/** A host that records what arrived, in order. */
function fakeHost(): HostSession & { received: string[] } {
  const received: string[] = [];
  const observation: HostObservation = { generations: [] };
  return {
    received,
    hostKey: 'ssh-ed25519 AAAA',
    observe: async () => observation,
    missingPaths: async (p) => p,
    importPaths: async (paths, source) => {
      let text = '';
      for await (const chunk of source.exportPaths(paths)) text += String(chunk);
      received.push(...text.split(';').filter(Boolean));
      return { paths: paths.length, bytes: text.length };
    },
    setProfile: async () => 1,
    switchTo: async () => undefined,
    switchGeneration: async () => '',
    deleteGenerations: async () => undefined,
    listGenerations: async () => [],
    close: () => undefined,
  };
}

describe('SharedExports', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reconix-exports-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('exports the paths several hosts lack once, and what only one host lacks for that host alone', async () => {
    // GIVEN three systems sharing a library and a payload
    const [lib, payload, a, b, c] = [P('l'), P('p'), P('a'), P('b'), P('c')];
    const closures = [
      [lib, payload, a],
      [lib, payload, b],
      [lib, payload, c],
    ];
    const store = fakeStore();
    const shared = new SharedExports(store, dir, closures);
    const hosts = [fakeHost(), fakeHost(), fakeHost()];
    // WHEN all three are copied at once
    const stats = await Promise.all(hosts.map((h, i) => shared.copy(h, closures[i]!)));
    await shared.dispose();
    // THEN the shared paths were exported once, each host got everything, dependencies first
    assert.equal(store.exported.get(lib), 1);
    assert.equal(store.exported.get(payload), 1);
    assert.deepEqual(
      hosts.map((h) => h.received),
      closures,
    );
    assert.deepEqual(
      stats.map((s) => s.paths),
      [3, 3, 3],
    );
  });

  it('keeps no files after dispose', async () => {
    const shared = new SharedExports(fakeStore(), dir, [[P('x')], [P('x')]]);
    await shared.copy(fakeHost(), [P('x')]);
    await shared.dispose();
    const { readdir } = await import('node:fs/promises');
    assert.deepEqual(await readdir(dir), []);
  });
});
