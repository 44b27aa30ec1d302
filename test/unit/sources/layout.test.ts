// The GitOps layouts of a manifest directory: a folder per deployment, a few levels deep, what git ignores left out.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MANIFEST_DEPTH } from '../../../src/source/discover.js';
import { loadDeployments } from '../../../src/source/load.js';
import { run } from '../../../src/util/exec.js';
import { manifestDoc } from './manifests.js';

async function put(dir: string, file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(path.join(dir, file)), { recursive: true });
  await fs.writeFile(path.join(dir, file), text);
}

async function deploymentAt(dir: string, folder: string, name: string): Promise<void> {
  await put(dir, `${folder}/network.nix`, '{ machine = { }; }\n');
  await put(dir, `${folder}/deployment.yaml`, manifestDoc(name));
}

describe('manifest directories laid out for GitOps', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'reconix-layout-'));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  const names = async () =>
    (await loadDeployments(dir, path.join(dir, '.scratch'))).deployments.map((d) => d.name).sort();

  it('finds the manifests of a git repository two levels deep, but not those of a folder git ignores', async () => {
    // GIVEN a git repository with a folder per deployment under clusters/, and a .gitignore'd folder
    await run('git', ['-C', dir, 'init', '-q']);
    await deploymentAt(dir, 'clusters/prod/web', 'web');
    await deploymentAt(dir, 'clusters/staging/db', 'db');
    await deploymentAt(dir, 'scratch/old', 'old');
    await put(dir, '.gitignore', 'scratch/\n');
    await put(dir, 'clusters/prod/web/values.yml', 'kind: ConfigMap\n');
    // WHEN the directory is loaded
    const result = await loadDeployments(dir, path.join(dir, '.scratch'));
    // THEN the deployments two levels deep are found, and the ignored one is not
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.deployments.map((d) => d.name).sort(), ['db', 'web']);
    assert.equal(
      result.deployments.find((d) => d.name === 'web')?.manifestPath,
      path.join(dir, 'clusters/prod/web/deployment.yaml'),
    );
  });

  it('skips dot-folders and node_modules outside a git work tree, and stops at the depth bound', async () => {
    await deploymentAt(dir, 'a', 'a');
    await deploymentAt(dir, '.hidden', 'hidden');
    await deploymentAt(dir, 'node_modules/pkg', 'vendored');
    await deploymentAt(dir, 'd1/d2/d3/d4', 'at-the-bound');
    await deploymentAt(dir, 'd1/d2/d3/d4/d5', 'too-deep');
    assert.equal(MANIFEST_DEPTH, 4);
    assert.deepEqual(await names(), ['a', 'at-the-bound']);
  });

  it('says what it searched when a directory holds no manifest', async () => {
    await put(dir, 'docs/readme.md', 'nothing here\n');
    await put(dir, 'docs/other.yaml', 'kind: ConfigMap\n');
    const result = await loadDeployments(dir, path.join(dir, '.scratch'));
    assert.deepEqual(result.deployments, []);
    assert.equal(result.empty, `no NixDeployment manifests found under ${dir} (searched 2 files to depth 4)`);
  });
});
