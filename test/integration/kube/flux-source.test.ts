// NixDeployments whose network files come from a Flux GitRepository's artifact, against a real API server with
// Flux's own CRDs: the artifact is a real `git archive` of a real repository, served over loopback HTTP, and the
// GitRepository's status names it as source-controller would (source-controller itself does not build here in the
// time a test set-up may take). A new commit reconciles at once; a bad digest or a missing source fails only that object.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { hostDirName } from '../../../src/providers/local/layout.js';
import { run } from '../../../src/util/exec.js';
import { startArtifactRepo, type ArtifactRepo, type Published } from '../../support/flux-artifacts.js';
import {
  hostCurrentSystem,
  installFluxCrds,
  startController,
  startKubeEnv,
  until,
  type ControllerUnderTest,
  type KubeEnv,
} from './harness.js';

interface Obj {
  metadata: { generation: number };
  status?: {
    conditions?: { type: string; status: string; reason: string; message: string }[];
    lastAppliedRevision?: string;
    lastAttemptedRevision?: string;
    source?: { kind: string; name: string; namespace: string; revision: string; digest: string };
  };
}

const network = (greeting: string) => `{
  network.description = "from a Flux source";
  web = { deployment.targetEnv = "local"; environment.etc."greeting".text = "${greeting}"; };
}`;

const deployment = (name: string, sourceRef: Record<string, string>, files = ['nix/network.nix']) =>
  stringify({
    apiVersion: 'reconix.dev/v1alpha1',
    kind: 'NixDeployment',
    metadata: { name, namespace: 'default' },
    spec: {
      sourceRef,
      network: { files },
      builder: 'mini',
      interval: '1h',
      retryInterval: '1s',
      sshKeySecretRef: { name: 'flux-ssh', key: 'id_ed25519' },
    },
  });

const ready = (o: Obj | undefined) => o?.status?.conditions?.find((c) => c.type === 'Ready');

describe('Flux sources: network files from a GitRepository artifact (real kube-apiserver, git, HTTP)', function () {
  this.timeout(600_000);
  let env: KubeEnv;
  let ctl: ControllerUnderTest;
  let repo: ArtifactRepo;
  let keyDir: string;
  const get = (name: string) => env.getJson<Obj>('nixdeployment', name);
  const greetingOf = async (id: string, machine = 'web') => {
    const hostDir = join(ctl.hostsDir, hostDirName(id, machine));
    const current = await hostCurrentSystem(hostDir);
    return current && readFile(join(hostDir, current, 'etc/greeting'), 'utf8').catch(() => undefined);
  };

  /** A GitRepository (or OCIRepository) as source-controller leaves it once it has an artifact. */
  const gitRepository = async (name: string, artifact: Published, kind = 'GitRepository') => {
    const spec =
      kind === 'GitRepository'
        ? { url: 'http://127.0.0.1/repo.git', interval: '1m', ref: { branch: 'main' } }
        : { url: 'oci://127.0.0.1/fleet', interval: '1m', ref: { tag: 'latest' } };
    await env.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind,
        metadata: { name, namespace: 'default' },
        spec,
      }),
    );
    const status = {
      observedGeneration: 1,
      artifact: { ...artifact, path: `gitrepository/default/${name}/x.tar.gz`, lastUpdateTime: new Date() },
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Succeeded',
          message: `stored artifact for revision '${artifact.revision}'`,
          lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        },
      ],
    };
    await env.kubectl([
      'patch',
      kind.toLowerCase(),
      name,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status }),
    ]);
  };

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startKubeEnv();
    await installFluxCrds(env);
    keyDir = await mkdtemp(join(tmpdir(), 'reconix-flux-key-'));
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keyDir, 'id')]);
    await env.kubectl([
      'create',
      'secret',
      'generic',
      'flux-ssh',
      `--from-file=id_ed25519=${join(keyDir, 'id')}`,
    ]);
    repo = await startArtifactRepo();
    ctl = await startController(env);
  });

  after(async function () {
    await ctl?.cleanup();
    await repo?.close();
    await env?.cleanup();
    if (keyDir) await rm(keyDir, { recursive: true, force: true });
  });

  it("deploys the network in the GitRepository's artifact and reports its revision", async () => {
    const commit = await repo.commit({ 'nix/network.nix': network('hello v1') }, 'first network');
    const artifact = await repo.publish('net', commit);
    await gitRepository('net', artifact);
    await env.kubectl(['apply', '-f', '-'], deployment('fluxnet', { kind: 'GitRepository', name: 'net' }));
    const o = await until(
      'fluxnet Ready',
      async () => {
        const o = await get('fluxnet');
        return ready(o)?.status === 'True' ? o : undefined;
      },
      240_000,
    );
    assert.equal(o.status?.lastAppliedRevision, `main@sha1:${commit}`);
    assert.deepEqual(o.status?.source, {
      kind: 'GitRepository',
      name: 'net',
      namespace: 'default',
      revision: `main@sha1:${commit}`,
      digest: artifact.digest,
    });
    assert.equal(await greetingOf('default.fluxnet'), 'hello v1');
  });

  it('picks up a new commit as soon as the GitRepository has its artifact', async () => {
    const commit = await repo.commit({ 'nix/network.nix': network('hello v2') }, 'second network');
    await gitRepository('net', await repo.publish('net', commit));
    // The interval is 1h and the spec did not change: only the watch of the source can explain a reconcile.
    const o = await until(
      'fluxnet at the new revision',
      async () => {
        const o = await get('fluxnet');
        return o?.status?.lastAppliedRevision === `main@sha1:${commit}` ? o : undefined;
      },
      240_000,
    );
    assert.equal(o.metadata.generation, 1);
    assert.equal(ready(o)?.status, 'True');
    assert.equal(await greetingOf('default.fluxnet'), 'hello v2');
  });

  it("deploys the network in an OCIRepository's artifact", async () => {
    const commit = await repo.commit({ 'nix/network.nix': network('hello oci') }, 'oci network');
    const artifact = { ...(await repo.publish('oci', commit)), revision: `latest@sha256:${'a'.repeat(64)}` };
    await gitRepository('oci', artifact, 'OCIRepository');
    await env.kubectl(['apply', '-f', '-'], deployment('ocinet', { kind: 'OCIRepository', name: 'oci' }));
    const o = await until(
      'ocinet Ready',
      async () => {
        const o = await get('ocinet');
        return ready(o)?.status === 'True' ? o : undefined;
      },
      240_000,
    );
    assert.equal(o.status?.lastAppliedRevision, artifact.revision);
    assert.equal(o.status?.source?.kind, 'OCIRepository');
    assert.equal(await greetingOf('default.ocinet'), 'hello oci');
  });

  it('evaluates again only the machine whose module a new revision changed', async () => {
    // Two machines, each with a module of its own; the second commit changes one of them. Each revision is unpacked
    // at a path of its own, so this is also a tree that moved.
    const pair = {
      'pair/network.nix': `{
        network.description = "two machines";
        web = { imports = [ ./web.nix ]; deployment.targetEnv = "local"; };
        api = { imports = [ ./api.nix ]; deployment.targetEnv = "local"; };
      }`,
      'pair/web.nix': `{ environment.etc."greeting".text = "web v1"; }`,
      'pair/api.nix': `{ environment.etc."greeting".text = "api v1"; }`,
    };
    const first = await repo.commit(pair, 'two machines');
    await gitRepository('pair', await repo.publish('pair', first));
    await env.kubectl(
      ['apply', '-f', '-'],
      deployment('fluxpair', { kind: 'GitRepository', name: 'pair' }, ['pair/network.nix']),
    );
    const at = (commit: string) =>
      until(
        `fluxpair at ${commit}`,
        async () => {
          const o = await get('fluxpair');
          return o?.status?.lastAppliedRevision === `main@sha1:${commit}` && ready(o)?.status === 'True'
            ? o
            : undefined;
        },
        240_000,
      );
    await at(first);
    const evaluations = () =>
      ctl.log.lines
        .map((l) => JSON.parse(l) as { msg: string; evaluated?: number; kept?: number })
        .filter((l) => /fluxpair: evaluating/.test(l.msg));
    assert.deepEqual(
      evaluations().map((l) => [l.evaluated, l.kept]),
      [[2, 0]],
    );
    const webSystem = await hostCurrentSystem(join(ctl.hostsDir, hostDirName('default.fluxpair', 'web')));

    const second = await repo.commit(
      { 'pair/api.nix': `{ environment.etc."greeting".text = "api v2"; }` },
      'api only',
    );
    await gitRepository('pair', await repo.publish('pair', second));
    await at(second);
    assert.deepEqual(
      evaluations().map((l) => [l.evaluated, l.kept]),
      [
        [2, 0],
        [1, 1],
      ],
      'the second revision evaluated the api machine alone',
    );
    assert.equal(await greetingOf('default.fluxpair', 'api'), 'api v2');
    assert.equal(await greetingOf('default.fluxpair', 'web'), 'web v1');
    assert.equal(
      await hostCurrentSystem(join(ctl.hostsDir, hostDirName('default.fluxpair', 'web'))),
      webSystem,
      'the web machine kept its system',
    );
    await env.kubectl(['delete', 'nixdeployment', 'fluxpair', '--wait=false']);
    await until('fluxpair gone', async () => !(await get('fluxpair')));
  });

  it('fails a deployment whose artifact does not match its digest, and only that one', async () => {
    const commit = await repo.commit({ 'nix/network.nix': network('tampered') }, 'third network');
    const wrong = `sha256:${'0'.repeat(64)}`;
    await gitRepository('tampered', await repo.publish('tampered', commit, { digest: wrong }));
    await env.kubectl(
      ['apply', '-f', '-'],
      deployment('badnet', { kind: 'GitRepository', name: 'tampered' }),
    );
    const bad = await until('badnet failed', async () => {
      const o = await get('badnet');
      return ready(o)?.status === 'False' ? ready(o) : undefined;
    });
    assert.equal(bad.reason, 'ArtifactDigestMismatch');
    assert.match(
      bad.message,
      new RegExp(`GitRepository default/tampered at main@sha1:${commit}.*not ${wrong}`),
    );
    assert.equal(ready(await get('fluxnet'))?.status, 'True');
    assert.equal(await greetingOf('default.fluxnet'), 'hello v2');
  });

  it('fails a deployment whose source does not exist with SourceNotReady', async () => {
    await env.kubectl(
      ['apply', '-f', '-'],
      deployment('lostnet', { kind: 'GitRepository', name: 'nowhere' }),
    );
    const c = await until('lostnet failed', async () => {
      const o = await get('lostnet');
      return ready(o)?.status === 'False' ? ready(o) : undefined;
    });
    assert.equal(c.reason, 'SourceNotReady');
    assert.match(c.message, /GitRepository default\/nowhere not found/);
  });

  it('refuses a source in another namespace unless the controller allows it', async () => {
    const ref = { kind: 'GitRepository', name: 'net', namespace: 'elsewhere' };
    await env.kubectl(['apply', '-f', '-'], deployment('farnet', ref));
    const c = await until('farnet failed', async () => {
      const o = await get('farnet');
      return ready(o)?.status === 'False' ? ready(o) : undefined;
    });
    assert.equal(c.reason, 'InvalidManifest');
    assert.match(c.message, /another namespace.*--allow-cross-namespace-sources/);
  });

  it('removes the unpacked artifact when the deployment is deleted', async () => {
    const unpacked = join(ctl.stateDir, 'scratch/flux-artifacts/default.fluxnet');
    assert.equal(existsSync(unpacked), true);
    await env.kubectl(['delete', 'nixdeployment', 'fluxnet', '--wait=false']);
    await until(
      'fluxnet gone with its artifact',
      async () => !(await get('fluxnet')) && !existsSync(unpacked),
    );
  });
});
