// End to end against a real API server: kubectl apply -> local hosts activated -> Ready; an edit re-activates only
// the machine that changed; drift is reported, then corrected; requestedAt reconciles at once; no reconcile storm
// from our own status writes; the API server restarted mid-reconcile misses no update; kubectl delete destroys.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { hostDirName } from '../../../src/providers/local/layout.js';
import { run } from '../../../src/util/exec.js';
import {
  cond,
  hostActivations,
  hostCurrentSystem,
  startController,
  startKubeEnv,
  until,
  type Condition,
  type ControllerUnderTest,
  type KubeEnv,
} from './harness.js';

interface Obj {
  metadata: { generation: number; finalizers?: string[] };
  status?: {
    observedGeneration?: number;
    conditions?: Condition[];
    machines?: { total: number; ready: number; drifted: number };
    lastAppliedRevision?: string;
  };
}

const network = (web: string, db: string) => `{
  network.description = "kube end to end";
  web = { deployment.targetEnv = "local"; environment.etc."greeting".text = "${web}"; };
  db = { deployment.targetEnv = "local"; environment.etc."greeting".text = "${db}"; };
}`;

function manifest(web: string, db: string, extra: Record<string, unknown> = {}): string {
  return stringify({
    apiVersion: 'reconix.dev/v1alpha1',
    kind: 'NixDeployment',
    metadata: { name: 'webapp', namespace: 'default' },
    spec: {
      network: { inline: { 'network.nix': network(web, db) } },
      builder: 'mini',
      interval: '1h',
      retryInterval: '1s',
      driftPolicy: 'Report',
      sshKeySecretRef: { name: 'webapp-ssh', key: 'id_ed25519' },
      ...extra,
    },
  });
}

describe('Kubernetes mode end to end (real kube-apiserver, local hosts)', function () {
  this.timeout(600_000);
  let env: KubeEnv;
  let ctl: ControllerUnderTest;
  let keyDir: string;
  let privateKey: string;
  const id = 'default.webapp';
  const hostDir = (machine: string) => join(ctl.hostsDir, hostDirName(id, machine));
  const get = () => env.getJson<Obj>('nixdeployment', 'webapp');
  const converged = async (generation?: number) =>
    until(
      `webapp Ready at generation ${generation ?? 'current'}`,
      async () => {
        const o = await get();
        const want = generation ?? o?.metadata.generation;
        return o?.status?.observedGeneration === want && cond(o, 'Ready')?.status === 'True' ? o : undefined;
      },
      240_000,
    );

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startKubeEnv();
    keyDir = await mkdtemp(join(tmpdir(), 'reconix-kube-key-'));
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keyDir, 'id')]);
    privateKey = await readFile(join(keyDir, 'id'), 'utf8');
    await env.kubectl([
      'create',
      'secret',
      'generic',
      'webapp-ssh',
      `--from-file=id_ed25519=${join(keyDir, 'id')}`,
    ]);
    ctl = await startController(env);
  });

  after(async function () {
    await ctl?.cleanup();
    await env?.cleanup();
    if (keyDir) await rm(keyDir, { recursive: true, force: true });
  });

  it('kubectl apply creates and activates the hosts, and the object turns Ready', async () => {
    await env.kubectl(['apply', '-f', '-'], manifest('hello web', 'hello db'));
    const o = await converged(1);
    assert.deepEqual(o.metadata.finalizers, ['reconix.dev/finalizer']);
    assert.equal(cond(o, 'Drifted')?.status, 'False');
    assert.deepEqual(o.status?.machines, { total: 2, ready: 2, drifted: 0, failed: 0 });
    assert.match(o.status?.lastAppliedRevision ?? '', /^sha256:/);
    for (const m of ['web', 'db']) assert.equal((await hostActivations(hostDir(m))).length, 1, m);
    const current = await hostCurrentSystem(hostDir('web'));
    assert.equal(await readFile(join(hostDir('web'), current ?? '-', 'etc/greeting'), 'utf8'), 'hello web');
    const state = await env.getJson<{ metadata: { ownerReferences?: { kind: string; name: string }[] } }>(
      'configmap',
      'reconix-state-webapp',
    );
    assert.deepEqual(
      state?.metadata.ownerReferences?.map((r) => `${r.kind}/${r.name}`),
      ['NixDeployment/webapp'],
    );
    const metrics = await (await fetch(`http://127.0.0.1:${ctl.running.server.port}/metrics`)).text();
    assert.match(metrics, /reconix_deployment_ready\{deployment="default\.webapp"\} 1/);
    const table = await env.kubectl(['get', 'nixd']);
    assert.match(table, /NAME\s+READY\s+DRIFTED\s+MACHINES\s+AGE\s+REASON/);
    assert.match(table, /webapp\s+True\s+False\s+2\s+\S+\s+ReconciliationSucceeded/);
  });

  it('its own status writes trigger no further reconcile', async () => {
    const before = ctl.running.controller.reconciles.get(id);
    await new Promise((r) => setTimeout(r, 5000)); // a quiet period is what is being measured
    assert.equal(ctl.running.controller.reconciles.get(id), before);
    // One reconcile for the new object (two if a transient failure needed a retry), none for its status writes.
    assert.ok((before ?? 0) >= 1 && (before ?? 0) <= 2, `${before} reconciles`);
  });

  it('editing one machine re-activates that machine only', async () => {
    await env.kubectl(['apply', '-f', '-'], manifest('hello again', 'hello db'));
    await converged(2);
    assert.equal((await hostActivations(hostDir('web'))).length, 2);
    assert.equal((await hostActivations(hostDir('db'))).length, 1);
  });

  it('reports drift made out of band, then corrects it when the policy says so', async () => {
    const web = hostDir('web');
    const activated = await hostCurrentSystem(web);
    const first = (await hostActivations(web))[0]!.split(' ')[2]!;
    const pid = (JSON.parse(await readFile(join(web, 'host.json'), 'utf8')) as { pid: number }).pid;
    await run('nsenter', [
      '--mount',
      '--target',
      String(pid),
      '--',
      'ln',
      '-sfn',
      first,
      '/run/current-system',
    ]);
    const t0 = Date.now();
    await env.kubectl(['annotate', '--overwrite', 'nixd/webapp', `reconix.dev/requestedAt=${t0}`]);
    const drifted = await until('Drifted=True', async () => {
      const o = await get();
      return cond(o, 'Drifted')?.status === 'True' ? o : undefined;
    });
    assert.match(cond(drifted, 'Drifted')?.message ?? '', /web/);
    assert.ok(
      ctl.starts.some((s) => s.id === id && s.at - t0 < 2000),
      'requestedAt reconciled at once',
    );
    const events = await env.kubectl([
      'get',
      'events',
      '--field-selector',
      'reason=DriftDetected',
      '-o',
      'name',
    ]);
    assert.notEqual(events.trim(), '');

    await env.kubectl(['patch', 'nixd/webapp', '--type=merge', '-p', '{"spec":{"driftPolicy":"Correct"}}']);
    const fixed = await converged(3);
    assert.equal(cond(fixed, 'Drifted')?.status, 'False');
    assert.equal(await hostCurrentSystem(web), activated);
  });

  it('converges after the API server restarts mid-reconcile, and misses no update', async () => {
    const gen = ((await get())?.metadata.generation ?? 0) + 1;
    await env.kubectl(
      ['apply', '-f', '-'],
      manifest('before restart', 'hello db', { driftPolicy: 'Correct' }),
    );
    await until('the reconcile to start', async () => ctl.starts.some((s) => s.generation === gen));
    await env.kube.restartApiServer();
    // An update right after the restart, while the controller's watch is still reconnecting.
    await env.kubectl(
      ['apply', '-f', '-'],
      manifest('after restart', 'hello db', { driftPolicy: 'Correct' }),
    );
    await converged(gen + 1);
    const current = await hostCurrentSystem(hostDir('web'));
    assert.equal(
      await readFile(join(hostDir('web'), current ?? '-', 'etc/greeting'), 'utf8'),
      'after restart',
    );
    assert.ok(ctl.running.controller.watchRestarts > 0, 'the watch was restarted');
  });

  it('never puts the SSH key in status, events or logs', async () => {
    const secretLine = privateKey.split('\n')[2]!;
    assert.ok(secretLine.length > 20);
    const everything = [
      await env.kubectl(['get', 'nixd', 'webapp', '-o', 'json']),
      await env.kubectl(['get', 'events', '-o', 'json']),
      await env.kubectl(['get', 'configmaps', '-o', 'json']),
      ctl.log.lines.join('\n'),
    ].join('\n');
    assert.ok(!everything.includes(secretLine));
  });

  it('kubectl delete destroys the hosts, then the object goes', async () => {
    const dirs = ['web', 'db'].map(hostDir);
    await env.kubectl(['delete', 'nixd', 'webapp', '--wait=false']);
    await until('the object to go', async () => (await get()) === undefined, 120_000);
    for (const d of dirs) assert.equal(existsSync(d), false, `${d} removed`);
    assert.equal(await env.getJson('configmap', 'reconix-state-webapp'), undefined);
  });
});
