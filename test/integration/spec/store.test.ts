import assert from 'node:assert/strict';
import { readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Reason, ReconixError } from '../../../src/api/conditions.js';
import { NixLocalStore } from '../../../src/spec/store.js';
import { run } from '../../../src/util/exec.js';
import { scratch, type Scratch } from './helpers.js';

/** Derivations made for the test: `dep` and `top` (which refers to dep), or one whose builder fails. */
const DRVS_NIX = `
{ tag, fail ? false }:
let
  mk = name: extra: derivation ({
    name = "reconix-store-test-\${name}";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    PATH = "/usr/bin:/bin";
    inherit tag;
  } // extra);
  dep = mk "dep" { args = [ "-c" "echo $tag > $out" ]; };
in {
  inherit dep;
  top = mk "top" { inherit dep; args = [ "-c" "mkdir $out; ln -s $dep $out/dep" ]; };
  broken = mk "broken" { args = [ "-c" "echo building badly; echo the reason >&2; exit 7" ]; };
}
`;

describe('NixLocalStore (real Nix)', function () {
  this.timeout(60_000);
  let tmp: Scratch;
  let drvs: { dep: string; top: string; broken: string };
  const store = new NixLocalStore();

  beforeEach(async () => {
    tmp = await scratch('store');
    const file = await tmp.file('drvs.nix', DRVS_NIX);
    const tag = `${process.pid}-${Date.now()}-${Math.random()}`;
    const instantiate = async (attr: string) =>
      (await run('nix-instantiate', [file, '--argstr', 'tag', tag, '-A', attr])).stdout
        .trim()
        .split('\n')
        .pop()!;
    drvs = {
      dep: await instantiate('dep'),
      top: await instantiate('top'),
      broken: await instantiate('broken'),
    };
  });
  afterEach(async () => {
    await tmp.remove();
  });

  const outOf = async (drv: string) => (await run('nix-store', ['--query', '--outputs', drv])).stdout.trim();

  it('builds derivations and registers one GC root per derivation, named after it', async () => {
    const roots = join(tmp.dir, 'roots');
    const top = await outOf(drvs.top);
    assert.equal(await store.isValid(top), false);
    await store.realise([drvs.top, drvs.dep], roots);
    assert.equal(await store.isValid(top), true);
    assert.equal(await readlink(join(roots, basename(drvs.top, '.drv'))), top);
    assert.equal(await readlink(join(roots, basename(drvs.dep, '.drv'))), await outOf(drvs.dep));
  });

  it('gives the closure with dependencies first', async () => {
    await store.realise([drvs.top]);
    const top = await outOf(drvs.top);
    const dep = await outOf(drvs.dep);
    const closure = await store.closure([top]);
    assert.ok(closure.indexOf(dep) >= 0 && closure.indexOf(dep) < closure.indexOf(top), closure.join('\n'));
  });

  it('gives every closure in one query, each the same set as closure() and dependencies first', async () => {
    await store.realise([drvs.top]);
    const top = await outOf(drvs.top);
    const dep = await outOf(drvs.dep);
    const all = await store.closures([top, dep]);
    assert.deepEqual(new Set(all.get(top)), new Set(await store.closure([top])));
    assert.deepEqual(all.get(dep), [dep]);
    const order = all.get(top)!;
    assert.ok(order.indexOf(dep) < order.indexOf(top));
  });

  it('tells which of many paths are valid in one call', async () => {
    await store.realise([drvs.top]);
    const top = await outOf(drvs.top);
    const missing = '/nix/store/00000000000000000000000000000000-missing';
    assert.deepEqual(await store.validPaths([top, missing]), new Set([top]));
  });

  it('reports a failed build as BuildFailed with the end of the build log', async () => {
    await assert.rejects(store.realise([drvs.broken]), (err: unknown) => {
      assert.ok(err instanceof ReconixError);
      assert.equal(err.reason, Reason.BuildFailed);
      assert.match(err.message, /the reason/);
      return true;
    });
  });

  it('exports paths as a stream that nix-store --import accepts', async () => {
    await store.realise([drvs.top]);
    const top = await outOf(drvs.top);
    const chunks: Buffer[] = [];
    for await (const chunk of store.exportPaths(await store.closure([top]))) chunks.push(chunk as Buffer);
    const imported = await run('nix-store', ['--import'], { input: Buffer.concat(chunks) });
    assert.ok(imported.stdout.split('\n').includes(top));
  });

  it('ends the export stream with an error when nix-store fails', async () => {
    const missing = (await outOf(drvs.broken)).replace(
      /\/[0-9a-z]{32}-/,
      '/00000000000000000000000000000000-',
    );
    const stream = store.exportPaths([missing]);
    await assert.rejects(
      (async () => {
        for await (const _ of stream) void _;
      })(),
      (err: unknown) => {
        assert.ok(err instanceof ReconixError);
        assert.equal(err.reason, Reason.CopyFailed);
        assert.match(err.message, /nix-store --export exited with code/);
        return true;
      },
    );
  });

  it('refuses arguments that are not store paths before running anything', async () => {
    await assert.rejects(store.isValid('--help'), /not a Nix store path/);
    await assert.rejects(store.realise(['/etc/passwd']), /not a Nix store path/);
  });
});
