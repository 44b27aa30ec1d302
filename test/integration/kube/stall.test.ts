// Failures that retrying cannot fix, against a real API server: the object turns Stalled with the reason and the
// message, the controller leaves it alone over several resync intervals, and a change to what it reads (its
// spec, a Secret it uses, its files under the source root) brings it back.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalTargetProvider } from '../../../src/providers/local/index.js';
import { run } from '../../../src/util/exec.js';
import { cond, until } from './harness.js';
import { conditionTrue, keyedKubeSuite, nixDeployment, sshKeyRef } from './fixtures.js';
import type { DeploymentObject } from './fixtures.js';

const machine = (text: string) =>
  `{ web = { deployment.targetEnv = "local"; environment.etc."greeting".text = "${text}"; }; }\n`;
// The `;` after the machine's module is missing: a syntax error on line 3.
const BROKEN = `{\n  web = { deployment.targetEnv = "local"; }\n  db = { deployment.targetEnv = "local"; };\n}\n`;

// Short periods, so that a window of a few seconds spans several resyncs and retries; Kubernetes mode reaches
// hosts only with a key from the object's namespace.
const manifest = (name: string, network: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  nixDeployment(name, network, { interval: '2s', ...sshKeyRef('tenant-ssh'), ...extra });
const QUIET_MS = 7000; // three resync intervals and more

describe('stalled NixDeployments (real kube-apiserver, local hosts)', function () {
  this.timeout(600_000);
  let work: string;
  const kube = keyedKubeSuite('tenant-ssh', {
    deleteAll: true,
    async prepare() {
      work = await mkdtemp(join(tmpdir(), 'reconix-kube-stall-'));
      // A source root as git-sync keeps it: a link swapped to a new tree.
      await mkdir(join(work, 'tree1/web'), { recursive: true });
      await writeFile(join(work, 'tree1/web/network.nix'), BROKEN);
      await symlink(join(work, 'tree1'), join(work, 'current'));
      // A local target that refuses to make hosts: its directory has a character sshd's configuration cannot hold.
      const unusable = new LocalTargetProvider({
        baseDir: join(work, 'hosts here'),
        addressPrefix: '127.79',
      });
      return {
        sourceRoot: join(work, 'current'),
        secretPollMs: 500,
        depsFor: (base, id, secrets) => ({
          ...base,
          ...(secrets.clientKey ? { clientKey: secrets.clientKey } : {}),
          ...(id === 'default.unmakeable' ? { providers: { ...base.providers, local: unusable } } : {}),
        }),
      };
    },
  });

  const get = (name: string) => kube.env.getJson<DeploymentObject>('nixdeployment', name);
  const reconciles = (name: string) => kube.ctl.running.controller.reconciles.get(`default.${name}`) ?? 0;

  const stalled = (name: string) => conditionTrue(kube.env, name, 'Stalled');
  const ready = (name: string) => conditionTrue(kube.env, name, 'Ready', 240_000);
  /** Nothing reconciles `name` over a quiet window, and it stays stalled. */
  async function leftAlone(name: string): Promise<void> {
    await until('the stalled reconcile to finish', async () =>
      kube.ctl.running.controller.isStalled(`default.${name}`),
    );
    const before = reconciles(name);
    await new Promise((r) => setTimeout(r, QUIET_MS)); // a quiet period is what is being measured
    assert.equal(reconciles(name), before, `${name} was reconciled again while stalled`);
    assert.equal(cond(await get(name), 'Stalled')?.status, 'True');
  }

  after(async function () {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('stalls on a Nix syntax error, naming the file and line, and stays quiet until the spec is fixed', async () => {
    await kube.env.kubectl(['apply', '-f', '-'], manifest('syntax', { inline: { 'network.nix': BROKEN } }));
    const o = await stalled('syntax');
    const s = cond(o, 'Stalled')!;
    assert.equal(s.reason, 'EvaluationFailed');
    assert.match(s.message, /network\.nix:3\b/);
    assert.deepEqual(
      { status: cond(o, 'Ready')?.status, reason: cond(o, 'Ready')?.reason },
      { status: 'False', reason: 'EvaluationFailed' },
    );
    await leftAlone('syntax');
    // WHEN the spec is fixed, THEN it is reconciled at once and turns Ready
    await kube.env.kubectl(
      ['apply', '-f', '-'],
      manifest('syntax', { inline: { 'network.nix': machine('fixed') } }),
    );
    const fixed = await ready('syntax');
    assert.equal(cond(fixed, 'Stalled'), undefined);
  });

  it('stalls when the local host of a machine cannot be made', async () => {
    await kube.env.kubectl(
      ['apply', '-f', '-'],
      manifest('unmakeable', { inline: { 'network.nix': machine('x') } }),
    );
    const o = await stalled('unmakeable');
    const s = cond(o, 'Stalled')!;
    assert.equal(s.reason, 'ProvisioningFailed');
    assert.match(s.message, /web: local hosts need an absolute base directory of plain characters/);
    await leftAlone('unmakeable');
  });

  it('goes on when the Secret it lacked a key of gets that key', async () => {
    const key = join(work, 'id');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    await kube.env.kubectl(['create', 'secret', 'generic', 'keyless-ssh', '--from-literal=other=nothing']);
    await kube.env.kubectl(
      ['apply', '-f', '-'],
      manifest(
        'keyless',
        { inline: { 'network.nix': machine('with a key') } },
        { sshKeySecretRef: { name: 'keyless-ssh', key: 'id_ed25519' } },
      ),
    );
    const o = await stalled('keyless');
    assert.equal(cond(o, 'Stalled')?.reason, 'SecretNotFound');
    assert.match(cond(o, 'Stalled')?.message ?? '', /key "id_ed25519" of Secret default\/keyless-ssh/);
    await leftAlone('keyless');
    // WHEN the key is added to the Secret (the object itself does not change)
    const generation = o.metadata.generation;
    const b64 = Buffer.from(await readFile(key, 'utf8')).toString('base64');
    await kube.env.kubectl([
      'patch',
      'secret',
      'keyless-ssh',
      '--type=merge',
      '-p',
      JSON.stringify({ data: { id_ed25519: b64 } }),
    ]);
    // THEN the controller notices and the deployment goes on
    const fixed = await ready('keyless');
    assert.equal(fixed.metadata.generation, generation);
    assert.equal(cond(fixed, 'Stalled'), undefined);
  });

  it('goes on when the source root moves to a tree whose files are fixed', async () => {
    await kube.env.kubectl(['apply', '-f', '-'], manifest('fromgit', { files: ['web/network.nix'] }));
    const o = await stalled('fromgit');
    assert.match(cond(o, 'Stalled')?.message ?? '', /network\.nix:3\b/);
    await leftAlone('fromgit');
    // WHEN git-sync swaps the link to a new tree
    await mkdir(join(work, 'tree2/web'), { recursive: true });
    await writeFile(join(work, 'tree2/web/network.nix'), machine('from tree2'));
    await symlink(join(work, 'tree2'), join(work, 'next'));
    await rename(join(work, 'next'), join(work, 'current'));
    await ready('fromgit');
  });
});
