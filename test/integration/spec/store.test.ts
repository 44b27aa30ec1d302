import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { Reason } from '../../../src/api/conditions.js';
import { ReconixError } from '../../../src/core/errors.js';
import { sha256Base16 } from '../../../src/nixstore/nar.js';
import { NixLocalStore } from '../../../src/nixstore/store.js';
import { run } from '../../../src/util/exec.js';
import { scratch, type Scratch } from './helpers.js';

const execFileAsync = promisify(execFile);

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
  # A store path that is itself a symlink.
  alias = mk "alias" { inherit dep; args = [ "-c" "ln -s $dep $out" ]; };
in {
  inherit dep;
  # Every kind of NAR entry: nested and empty directories, executables, empty files, symlinks, names that sort
  # differently by bytes than by locale, sizes that need padding, and a file read in several chunks.
  tree = mk "tree" { inherit dep alias; args = [ "-c" ''
    set -e
    mkdir -p $out/sub/deeper $out/empty
    printf 'seven!!' > $out/sub/odd
    : > $out/zero
    printf '#!/bin/sh\\necho hi\\n' > $out/run; chmod 555 $out/run
    for n in B a a-b a.b _x ä Z; do echo "$n" > "$out/sub/$n"; done
    echo deep > $out/sub/deeper/file
    ln -s ../zero $out/sub/link
    ln -s $dep $out/dep
    ln -s $alias $out/alias
    ln -s nowhere $out/dangling
    dd if=/dev/zero bs=1000 count=2600 2>/dev/null | tr '\\000' 'x' > $out/big
    echo $tag >> $out/big
  '' ]; };
  top = mk "top" { inherit dep; args = [ "-c" "mkdir $out; ln -s $dep $out/dep" ]; };
  broken = mk "broken" { args = [ "-c" "echo building badly; echo the reason >&2; exit 7" ]; };
}
`;

describe('NixLocalStore (real Nix)', function () {
  this.timeout(60_000);
  let tmp: Scratch;
  let drvs: { dep: string; top: string; tree: string; broken: string };
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
      tree: await instantiate('tree'),
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

  it('gives every closure in one query, dependencies first, with what Nix records of each path', async () => {
    await store.realise([drvs.top]);
    const top = await outOf(drvs.top);
    const dep = await outOf(drvs.dep);
    const all = await store.closures([top, dep]);
    const requisites = (await run('nix-store', ['--query', '--requisites', top])).stdout.trim().split('\n');
    const order = all.get(top)!.map((i) => i.path);
    assert.deepEqual(new Set(order), new Set(requisites));
    assert.ok(order.indexOf(dep) < order.indexOf(top));
    assert.deepEqual(
      all.get(dep)!.map((i) => i.path),
      [dep],
    );
    const recorded = JSON.parse(
      (await run('nix', ['--extra-experimental-features', 'nix-command', 'path-info', '--json', top])).stdout,
    ) as { narHash: string; narSize: number; references: string[]; deriver: string }[];
    const info = all.get(top)!.find((i) => i.path === top)!;
    assert.equal(info.narHash, recorded[0]!.narHash);
    assert.equal(info.narSize, recorded[0]!.narSize);
    assert.deepEqual([...info.references].sort(), [...recorded[0]!.references].sort());
    assert.equal(info.deriver, drvs.top);
  });

  it('fails the closure query of a path that is not in the store as CopyFailed', async () => {
    const missing = '/nix/store/00000000000000000000000000000000-missing';
    await assert.rejects(store.closures([missing]), (err: unknown) => {
      assert.ok(err instanceof ReconixError);
      assert.equal(err.reason, Reason.CopyFailed);
      return true;
    });
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

  it('reads a NAR byte for byte as nix-store --dump writes it, with the hash and size Nix recorded', async () => {
    await store.realise([drvs.tree]);
    const tree = await outOf(drvs.tree);
    const closure = (await store.closures([tree])).get(tree)!;
    for (const info of closure) {
      const chunks: Buffer[] = [];
      for await (const chunk of store.nar(info.path)) chunks.push(Buffer.from(chunk)); // lent: copy
      const ours = Buffer.concat(chunks);
      const dumped = await execFileAsync('nix-store', ['--dump', info.path], {
        encoding: 'buffer',
        maxBuffer: 64 << 20,
      });
      assert.ok(ours.equals(dumped.stdout), `the NAR of ${info.path} differs from nix-store --dump`);
      assert.equal(ours.length, info.narSize);
      assert.equal(createHash('sha256').update(ours).digest('hex'), sha256Base16(info.narHash));
    }
    assert.ok(closure.find((i) => i.path === tree)!.narSize > 2_600_000, 'the big file is in the tree');
    const kinds = await Promise.all(closure.map(async (i) => (await lstat(i.path)).isSymbolicLink()));
    assert.ok(kinds.includes(true), 'a path that is a symlink is in the closure');
    assert.ok(
      (await Promise.all(closure.map(async (i) => (await lstat(i.path)).isFile()))).includes(true),
      'a path that is a single file is in the closure',
    );
  });

  it('fails reading the NAR of a path that is not there', async () => {
    const missing = '/nix/store/00000000000000000000000000000000-missing';
    await assert.rejects(
      (async () => {
        for await (const _ of store.nar(missing)) void _;
      })(),
      /ENOENT/,
    );
  });

  it('refuses arguments that are not store paths before running anything', async () => {
    await assert.rejects(store.isValid('--help'), /not a Nix store path/);
    await assert.rejects(store.realise(['/etc/passwd']), /not a Nix store path/);
  });
});
