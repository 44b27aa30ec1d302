import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadDeployments } from '../../../src/source/load.js';
import { manifestDoc } from './manifests.js';

describe('loadDeployments', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'reconix-load-'));
    await fs.writeFile(path.join(dir, 'network.nix'), '{ machine = { }; }\n');
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  const load = () => loadDeployments(dir, path.join(dir, '.scratch'));

  for (const [what, bad] of [
    ['a YAML syntax error', 'kind: NixDeployment\nmetadata: { name: [b\nspec: x\n'],
    ['tabs for indentation', '\tkind: NixDeployment\n'],
    ['a schema error', manifestDoc('b', '  interval: soon')],
    [
      "an analysis gate's condition that does not parse",
      manifestDoc(
        'b',
        '  rollout: { strategy: { waves: [{ count: 1, analysis: { prometheus: { url: "http://127.0.0.1:9" }, ' +
          'query: up, successCondition: "result =< 1" } }] } }',
      ),
    ],
  ] as const) {
    it(`fails only the document with ${what}; the other documents of the file still load`, async () => {
      // GIVEN a file of three documents whose second is broken
      await fs.writeFile(
        path.join(dir, 'fleet.yaml'),
        [manifestDoc('a'), bad, manifestDoc('c')].join('\n---\n'),
      );
      // WHEN it is loaded
      const result = await load();
      // THEN the first and the third load, and the error names the file and the document
      assert.deepEqual(
        result.deployments.map((d) => d.name),
        ['a', 'c'],
      );
      assert.equal(result.errors.length, 1);
      assert.equal(result.errors[0]?.path, path.join(dir, 'fleet.yaml'));
      assert.match(result.errors[0]!.message, /fleet\.yaml \(document 2[,)]/);
    });
  }

  it('loads the other files of the directory when one file cannot be parsed at all', async () => {
    await fs.writeFile(path.join(dir, 'a.yaml'), manifestDoc('a'));
    await fs.writeFile(path.join(dir, 'b.yaml'), "metadata: { name: 'unterminated\n");
    const result = await load();
    assert.deepEqual(
      result.deployments.map((d) => d.name),
      ['a'],
    );
    assert.deepEqual(
      result.errors.map((e) => e.path),
      [path.join(dir, 'b.yaml')],
    );
  });

  it('tells a deployment defined twice from the first one, by name', async () => {
    await fs.writeFile(path.join(dir, 'a.yaml'), manifestDoc('a'));
    await fs.writeFile(path.join(dir, 'b.yaml'), manifestDoc('a'));
    const result = await load();
    assert.deepEqual(
      result.deployments.map((d) => d.manifestPath),
      [path.join(dir, 'a.yaml')],
    );
    assert.equal(result.errors[0]?.name, 'a');
    assert.match(result.errors[0]!.message, /deployment a is defined twice/);
  });

  it("names an analysis gate's bad condition where it is, with its column", async () => {
    await fs.writeFile(
      path.join(dir, 'gated.yaml'),
      manifestDoc(
        'gated',
        '  rollout: { strategy: { waves: [{ count: 1 }, { count: 1, analysis: { prometheus: { url: "http://127.0.0.1:9" }, ' +
          'query: up, successCondition: "result =< 1" } }] } }',
      ),
    );
    const result = await load();
    assert.equal(result.deployments.length, 0);
    assert.match(
      result.errors[0]!.message,
      /spec\.rollout\.strategy\.waves\[1\]\.analysis\.successCondition: .*column 8.*write <=/,
    );
  });
});
