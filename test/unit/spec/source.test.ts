import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reason } from '../../../src/api/conditions.js';
import { ReconixError } from '../../../src/core/errors.js';
import type { NixDeploymentManifest, NixDeploymentSpec } from '../../../src/api/deployment.js';
import { resolveNetworkSource } from '../../../src/source/source.js';

function manifest(
  network: NixDeploymentSpec['network'],
  extra: Partial<NixDeploymentSpec> = {},
): NixDeploymentManifest {
  return {
    apiVersion: 'reconix.dev/v1alpha1',
    kind: 'NixDeployment',
    metadata: { name: 'webapp' },
    spec: { network, ...extra },
  };
}

function invalidManifest(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof ReconixError);
    assert.equal(err.reason, Reason.InvalidManifest);
    assert.equal(err.reaction, 'stall');
    assert.match(err.message, pattern);
    return true;
  };
}

describe('resolveNetworkSource', () => {
  let root: string;
  let dir: string;
  let scratch: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'reconix-source-'));
    dir = join(root, 'repo', 'apps');
    scratch = join(root, 'scratch');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'network.nix'), '{ }');
    await writeFile(join(dir, 'physical.nix'), '{ }');
    await writeFile(join(root, 'repo', 'outside.nix'), '{ }');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('resolves files against the manifest directory, in order, with args and builder', () => {
    const src = resolveNetworkSource(
      manifest({ files: ['network.nix', './physical.nix'], args: { domain: 'x' } }, { builder: 'mini' }),
      dir,
      scratch,
    );
    assert.deepEqual(src, {
      deployment: 'webapp',
      files: [join(dir, 'network.nix'), join(dir, 'physical.nix')],
      root: dir,
      args: { domain: 'x' },
      builder: 'mini',
    });
  });

  it('defaults to the auto builder and no args', () => {
    const src = resolveNetworkSource(manifest({ files: ['network.nix'] }), dir, scratch);
    assert.equal(src.builder, 'auto');
    assert.deepEqual(src.args, {});
  });

  const escapes: [string, string, RegExp][] = [
    ['an absolute path', '/etc/passwd', /must be a relative path/],
    ['a path that climbs out with ..', '../outside.nix', /outside the manifest's directory/],
    ['a path that climbs out in the middle', 'sub/../../outside.nix', /outside the manifest's directory/],
    ['a file that does not exist', 'missing.nix', /does not exist/],
  ];
  for (const [what, file, pattern] of escapes) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => resolveNetworkSource(manifest({ files: [file] }), dir, scratch),
        invalidManifest(pattern),
      );
    });
  }

  it('refuses a symlink that points outside the manifest directory', async () => {
    await symlink(join(root, 'repo', 'outside.nix'), join(dir, 'link.nix'));
    assert.throws(
      () => resolveNetworkSource(manifest({ files: ['link.nix'] }), dir, scratch),
      invalidManifest(/links outside/),
    );
  });

  describe('with inline files', () => {
    const inline = { 'network.nix': '{ web = import ./web.nix; }', 'web.nix': '{ }' };

    it('writes them once into a content-addressed directory where they can import each other', async () => {
      const a = resolveNetworkSource(manifest({ inline, files: ['network.nix'] }), dir, scratch);
      const b = resolveNetworkSource(manifest({ inline, files: ['network.nix'] }), dir, scratch);
      assert.deepEqual(a.files, b.files);
      assert.equal(a.files.length, 1);
      const written = a.files[0]!.replace(/network\.nix$/, '');
      assert.equal(await readFile(join(written, 'web.nix'), 'utf8'), '{ }');
      assert.deepEqual(
        (await readdir(scratch)).filter((n) => n.startsWith('.')),
        [],
        'no temporary left behind',
      );
    });

    it('uses every inline file in name order when files are not given', () => {
      const src = resolveNetworkSource(manifest({ inline }), dir, scratch);
      assert.deepEqual(
        src.files.map((f) => f.split('/').pop()),
        ['network.nix', 'web.nix'],
      );
    });

    it('gives different contents different directories', () => {
      const a = resolveNetworkSource(manifest({ inline }), dir, scratch);
      const b = resolveNetworkSource(
        manifest({ inline: { ...inline, 'web.nix': '{ x = { }; }' } }),
        dir,
        scratch,
      );
      assert.notEqual(a.files[0], b.files[0]);
    });

    for (const name of ['sub/web.nix', '../web.nix', 'web.txt', '.nix', '-rf.nix', 'a b.nix', '']) {
      it(`refuses the inline file name ${JSON.stringify(name)}`, () => {
        assert.throws(
          () => resolveNetworkSource(manifest({ inline: { ...inline, [name]: '{ }' } }), dir, scratch),
          invalidManifest(/must be a plain file name ending in \.nix/),
        );
      });
    }

    it('refuses files that name no inline file', () => {
      assert.throws(
        () => resolveNetworkSource(manifest({ inline, files: ['other.nix'] }), dir, scratch),
        invalidManifest(/not among the inline files/),
      );
    });
  });
});
