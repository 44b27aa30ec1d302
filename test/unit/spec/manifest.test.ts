import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reason } from '../../../src/api/conditions.js';
import { loadManifests, parseManifests, type ManifestResult } from '../../../src/source/manifest.js';

const GOOD = `
apiVersion: reconix.dev/v1alpha1
kind: NixDeployment
metadata: { name: webapp }
spec:
  network:
    files: [network.nix, physical-local.nix]
    args: { domain: example.org }
  interval: 5m
  driftPolicy: Correct
  suspend: false
  rollout: { maxParallel: 10, activation: switch }
`;

/** GOOD with one line of the spec replaced (or added). */
function variant(find: string, replace: string): string {
  assert.ok(GOOD.includes(find), `fixture lacks ${find}`);
  return GOOD.replace(find, replace);
}

function errorOf(results: ManifestResult[]): string {
  assert.equal(results.length, 1);
  const [r] = results;
  assert.ok(r && !r.ok, 'expected an invalid manifest');
  assert.equal(r.error.reason, Reason.InvalidManifest);
  assert.equal(r.error.reaction, 'stall');
  return r.error.message;
}

describe('NixDeployment manifests', () => {
  it('read spec.evaluation.memoryBudget as bytes of the network source', async () => {
    const { resolveNetworkSource } = await import('../../../src/source/source.js');
    const [r] = parseManifests(
      variant('interval: 5m', 'interval: 5m\n  evaluation: { memoryBudget: 1536M }'),
      'w.yaml',
    );
    assert.ok(r?.ok);
    const dir = await mkdtemp(join(tmpdir(), 'reconix-manifest-'));
    try {
      for (const f of ['network.nix', 'physical-local.nix']) await writeFile(join(dir, f), '{ }');
      assert.equal(resolveNetworkSource(r.manifest, dir, dir).memoryBudget, 1536 * 2 ** 20);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('accept a complete, valid manifest', () => {
    const [r] = parseManifests(GOOD, 'webapp.yaml');
    assert.ok(r?.ok);
    assert.equal(r.manifest.metadata.name, 'webapp');
    assert.deepEqual(r.manifest.spec.network.files, ['network.nix', 'physical-local.nix']);
    assert.equal(r.manifest.spec.rollout?.maxParallel, 10);
  });

  const bad: { what: string; yaml: string; expect: RegExp }[] = [
    {
      what: 'a fraction where an integer belongs',
      yaml: variant('maxParallel: 10', 'maxParallel: 1.5'),
      expect:
        /^webapp\.yaml \(document 1, NixDeployment\/webapp\): spec\.rollout\.maxParallel: Expected integer$/,
    },
    {
      what: 'a string where a boolean belongs',
      yaml: variant('suspend: false', 'suspend: "no"'),
      expect: /spec\.suspend: Expected boolean/,
    },
    {
      what: 'an unknown field in the spec',
      yaml: variant('suspend: false', 'suspend: false\n  replicas: 3'),
      expect: /spec\.replicas: Unexpected property/,
    },
    {
      what: 'an unknown field in a nested object',
      yaml: variant('maxParallel: 10', 'maxParalel: 10'),
      expect: /spec\.rollout\.maxParalel: Unexpected property/,
    },
    {
      what: 'a duration without a unit',
      yaml: variant('interval: 5m', 'interval: "5"'),
      expect: /spec\.interval: Expected a duration such as 5m, 1h30m, 10s or 500ms/,
    },
    {
      what: 'a memory budget that is not a size',
      yaml: variant('interval: 5m', 'interval: 5m\n  evaluation: { memoryBudget: lots }'),
      expect: /spec\.evaluation\.memoryBudget: Expected a size such as 512M, 1536M or 2G/,
    },
    {
      what: 'a memory budget too small for one nix-instantiate',
      yaml: variant('interval: 5m', 'interval: 5m\n  evaluation: { memoryBudget: 10M }'),
      expect: /spec\.evaluation\.memoryBudget: 10M is under 64M, too little for one nix-instantiate/,
    },
    {
      what: 'a drift policy that does not exist',
      yaml: variant('driftPolicy: Correct', 'driftPolicy: Fix'),
      expect: /spec\.driftPolicy: Expected one of "Correct", "Report"/,
    },
    {
      what: 'an empty file name in the network',
      yaml: variant('files: [network.nix, physical-local.nix]', 'files: [network.nix, ""]'),
      expect: /spec\.network\.files\[1\]: Expected string length/,
    },
    {
      what: 'a network with neither files nor inline text',
      yaml: variant('    files: [network.nix, physical-local.nix]\n', ''),
      expect: /spec\.network: Expected files or inline network files/,
    },
    {
      what: 'a name that is not a DNS label',
      yaml: variant('name: webapp', 'name: Web_App'),
      expect: /metadata\.name: Expected string to match/,
    },
    {
      what: 'a wrong API version',
      yaml: variant('reconix.dev/v1alpha1', 'reconix.dev/v2'),
      expect: /apiVersion: Expected 'reconix\.dev\/v1alpha1'/,
    },
  ];
  for (const { what, yaml, expect } of bad) {
    it(`reject ${what}, naming the file, the document and the field`, () => {
      assert.match(errorOf(parseManifests(yaml, 'webapp.yaml')), expect);
    });
  }

  it('report broken YAML as an invalid manifest of that file', () => {
    assert.match(
      errorOf(parseManifests('kind: NixDeployment\nspec: [unclosed', 'broken.yaml')),
      /^broken\.yaml \(document 1\): /,
    );
  });

  it('ignore documents of other kinds and check each NixDeployment document on its own', () => {
    const text = [
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: cm }',
      variant('maxParallel: 10', 'maxParallel: 0'),
      GOOD.replace('name: webapp', 'name: other'),
    ].join('\n---\n');
    const results = parseManifests(text, 'all.yaml');
    assert.deepEqual(
      results.map((r) => [r.ok, r.document]),
      [
        [false, 1],
        [true, 2],
      ],
    );
    assert.match(
      errorOf(results.slice(0, 1)),
      /all\.yaml \(document 2, NixDeployment\/webapp\): spec\.rollout\.maxParallel/,
    );
  });

  describe('from a directory', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'reconix-manifests-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('load every YAML file, and one bad manifest does not stop the others', async () => {
      // GIVEN a good manifest, a bad one and a file that is not YAML
      await writeFile(join(dir, 'a.yaml'), GOOD);
      await writeFile(join(dir, 'b.yml'), variant('interval: 5m', 'interval: soon'));
      await writeFile(join(dir, 'notes.txt'), 'not a manifest');
      // WHEN the directory is loaded
      const results = await loadManifests(dir);
      // THEN both YAML files are reported, the good one valid
      assert.deepEqual(
        results.map((r) => [r.path, r.ok]),
        [
          [join(dir, 'a.yaml'), true],
          [join(dir, 'b.yml'), false],
        ],
      );
      assert.match(errorOf(results.slice(1)), /b\.yml .*spec\.interval/);
    });

    it('load a single file given by path', async () => {
      await writeFile(join(dir, 'one.yaml'), GOOD);
      const results = await loadManifests(join(dir, 'one.yaml'));
      assert.equal(results.length, 1);
      assert.ok(results[0]?.ok);
    });
  });
});
