// The evaluation cache's key: every input of an evaluation changes it, spellings that mean the same do not.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  evalCacheKey,
  nixPathEntries,
  resolveNixPath,
  readsDigest,
  treeDigest,
  Uncacheable,
  type KeyParts,
} from '../../../src/evaluate/cache-key.js';

const BASE: KeyParts = {
  kind: 'systems',
  tree: 'tree-1',
  files: ['/n/network.nix', '/n/physical.nix'],
  args: { domain: 'example.org' },
  builder: 'mini',
  facts: { machines: { a: { privateIPv4: '127.77.0.2', hostPublicKey: 'ssh-ed25519 AAAA' } }, resources: {} },
  machines: ['a', 'b'],
  nixLib: 'lib-1',
  nixVersion: 'nix-instantiate (Nix) 2.8.0',
  nixPath: ['nixpkgs=/nix/store/abc-nixpkgs'],
  restricted: false,
};

describe('the evaluation cache key', () => {
  const changes: [string, Partial<KeyParts>][] = [
    ['the kind of evaluation', { kind: 'physical' }],
    ['the source tree', { tree: 'tree-2' }],
    ['the network files or their order', { files: ['/n/physical.nix', '/n/network.nix'] }],
    ['an argument', { args: { domain: 'example.net' } }],
    ['the builder', { builder: 'nixos' }],
    [
      'an address among the facts',
      { facts: { machines: { a: { privateIPv4: '127.77.0.3' } }, resources: {} } },
    ],
    ['the machines asked for', { machines: ['a'] }],
    ["Reconix's Nix library", { nixLib: 'lib-2' }],
    ['the Nix version', { nixVersion: 'nix-instantiate (Nix) 2.18.1' }],
    ['what <nixpkgs> resolves to', { nixPath: ['nixpkgs=/nix/store/def-nixpkgs'] }],
    ['restricted evaluation', { restricted: true }],
  ];
  for (const [what, change] of changes) {
    it(`changes with ${what}`, () => {
      assert.notEqual(evalCacheKey({ ...BASE, ...change }), evalCacheKey(BASE));
    });
  }

  it('does not change with the order of machines, arguments or facts', () => {
    const same: KeyParts = {
      ...BASE,
      machines: ['b', 'a', 'b'],
      args: { ...BASE.args },
      facts: {
        resources: {},
        machines: { a: { hostPublicKey: 'ssh-ed25519 AAAA', privateIPv4: '127.77.0.2' } },
      },
    };
    assert.equal(evalCacheKey(same), evalCacheKey(BASE));
  });
});

describe('the digest of a source tree', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reconix-tree-'));
    await mkdir(join(dir, 'modules'));
    await writeFile(join(dir, 'network.nix'), '{ a = import ./modules/a.nix; }');
    await writeFile(join(dir, 'modules/a.nix'), '{ }');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('changes when an imported file is edited, added or removed', async () => {
    const before = await treeDigest([dir]);
    await writeFile(join(dir, 'modules/a.nix'), '{ x = 1; }');
    const edited = await treeDigest([dir]);
    assert.notEqual(edited, before);
    await writeFile(join(dir, 'modules/b.nix'), '{ }');
    const added = await treeDigest([dir]);
    assert.notEqual(added, edited);
    await rm(join(dir, 'modules/b.nix'));
    assert.equal(await treeDigest([dir]), edited);
  });

  it("does not change with git's own files or the skipped state directory", async () => {
    const before = await treeDigest([dir], [join(dir, '.state')]);
    await mkdir(join(dir, '.git'));
    await writeFile(join(dir, '.git/HEAD'), 'ref: refs/heads/main');
    await mkdir(join(dir, '.state'));
    await writeFile(join(dir, '.state/deployment.json'), '{}');
    assert.equal(await treeDigest([dir], [join(dir, '.state')]), before);
  });

  it('digests a linked directory by its target, so that a link loop cannot hold the walk', async () => {
    await symlink('..', join(dir, 'modules/up'));
    const digest = await treeDigest([dir]);
    assert.match(digest, /^[0-9a-f]{64}$/);
  });
});

describe('the digest of what one evaluation read', () => {
  let dir: string;
  const digest = async (reads: string[]) => {
    const entries = new Map<string, string>();
    await treeDigest([dir], [join(dir, '.state')], entries);
    return readsDigest(reads, entries, [dir]);
  };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reconix-reads-'));
    await mkdir(join(dir, 'modules'));
    await mkdir(join(dir, '.state'));
    await writeFile(join(dir, 'network.nix'), '{ a = import ./modules/a.nix; }');
    await writeFile(join(dir, 'modules/a.nix'), '{ }');
    await writeFile(join(dir, 'modules/b.nix'), '{ }');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('changes with a file read, and not with a file not read', async () => {
    const reads = [join(dir, 'network.nix'), join(dir, 'modules/a.nix')];
    const before = await digest(reads);
    assert.match(before ?? '', /^[0-9a-f]{64}$/);
    await writeFile(join(dir, 'modules/b.nix'), '{ x = 1; }');
    assert.equal(await digest(reads), before);
    await writeFile(join(dir, 'modules/a.nix'), '{ x = 1; }');
    assert.notEqual(await digest(reads), before);
  });

  it('covers the whole of a directory read, and a path read while absent until it appears', async () => {
    const dirRead = await digest([join(dir, 'modules')]);
    await writeFile(join(dir, 'modules/c.nix'), '{ }');
    assert.notEqual(await digest([join(dir, 'modules')]), dirRead);
    const absent = [join(dir, 'modules/d.nix')];
    const before = await digest(absent);
    assert.equal(await digest(absent), before);
    await writeFile(join(dir, 'modules/d.nix'), '{ }');
    assert.notEqual(await digest(absent), before);
  });

  it('is unknown for a path outside the tree or in a directory it leaves out, and leaves store paths out', async () => {
    assert.equal(await digest([join(tmpdir(), 'elsewhere.nix')]), undefined);
    await writeFile(join(dir, '.state/x'), '');
    assert.equal(await digest([join(dir, '.state/x')]), undefined);
    const reads = [join(dir, 'network.nix')];
    assert.equal(
      await digest([...reads, '/nix/store/00000000000000000000000000000000-x']),
      await digest(reads),
    );
  });

  it('is taken while the tree is digested, which gives the same tree digest as without', async () => {
    const entries = new Map<string, string>();
    assert.equal(await treeDigest([dir], [], entries), await treeDigest([dir]));
    assert.ok(entries.has(join(dir, 'modules/a.nix')));
  });
});

describe('what the Nix search path resolves to', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reconix-nixpath-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stands for a store path by its real path, and an entry that is not there as absent', async () => {
    const store = join(dir, 'store');
    await mkdir(join(store, 'abc-nixpkgs'), { recursive: true });
    await symlink(join(store, 'abc-nixpkgs'), join(dir, 'channel'));
    const resolved = await resolveNixPath([`nixpkgs=${join(dir, 'channel')}`, join(dir, 'none')], store);
    assert.deepEqual(resolved, [`nixpkgs=${join(store, 'abc-nixpkgs')}`, `=absent:${join(dir, 'none')}`]);
  });

  it('refuses to cache with a plain directory or a URL on the path', async () => {
    await assert.rejects(resolveNixPath([`nixpkgs=${dir}`], '/nix/store'), Uncacheable);
    assert.throws(
      () => nixPathEntries('nixpkgs=https://example.org/nixpkgs.tar.gz', '/root', 'root'),
      Uncacheable,
    );
  });

  it("uses Nix's default search path when NIX_PATH is unset", () => {
    assert.deepEqual(nixPathEntries(undefined, '/root', 'root'), [
      '/root/.nix-defexpr/channels',
      'nixpkgs=/nix/var/nix/profiles/per-user/root/channels/nixpkgs',
      '/nix/var/nix/profiles/per-user/root/channels',
    ]);
  });
});
