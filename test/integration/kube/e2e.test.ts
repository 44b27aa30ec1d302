// End to end against a real API server: kubectl apply -> local hosts activated -> Ready; an edit re-activates only
// the machine that changed; drift is reported, then corrected; requestedAt reconciles at once; no reconcile storm
// from our own status writes; the API server restarted mid-reconcile misses no update; kubectl delete destroys.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostDirName } from '../../../src/providers/local/layout.js';
import { run } from '../../../src/util/exec.js';
import { cond, hostActivations, hostCurrentSystem, until } from './harness.js';
import { keyedKubeSuite, nixDeployment, sshKeyRef, type DeploymentObject } from './fixtures.js';

interface Obj extends DeploymentObject {
  metadata: { generation: number; finalizers?: string[] };
  status?: DeploymentObject['status'] & {
    machines?: { total: number; ready: number; drifted: number };
    lastAppliedRevision?: string;
  };
}

const network = (web: string, db: string) => `{
  network.description = "kube end to end";
  web = { deployment.targetEnv = "local"; environment.etc."greeting".text = "${web}"; };
  db = { deployment.targetEnv = "local"; environment.etc."greeting".text = "${db}"; };
}`;

const manifest = (web: string, db: string, extra: Record<string, unknown> = {}) =>
  nixDeployment('webapp', network(web, db), { driftPolicy: 'Report', ...sshKeyRef('webapp-ssh'), ...extra });

describe('Kubernetes mode end to end (real kube-apiserver, local hosts)', function () {
  this.timeout(600_000);
  const kube = keyedKubeSuite('webapp-ssh');
  const id = 'default.webapp';
  const hostDir = (machine: string) => join(kube.ctl.hostsDir, hostDirName(id, machine));
  const get = () => kube.env.getJson<Obj>('nixdeployment', 'webapp');
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

  it('kubectl apply creates and activates the hosts, and the object turns Ready', async () => {
    await kube.env.kubectl(['apply', '-f', '-'], manifest('hello web', 'hello db'));
    const o = await converged(1);
    assert.deepEqual(o.metadata.finalizers, ['reconix.dev/finalizer']);
    assert.equal(cond(o, 'Drifted')?.status, 'False');
    assert.deepEqual(o.status?.machines, { total: 2, ready: 2, drifted: 0, failed: 0 });
    assert.match(o.status?.lastAppliedRevision ?? '', /^sha256:/);
    for (const m of ['web', 'db']) assert.equal((await hostActivations(hostDir(m))).length, 1, m);
    const current = await hostCurrentSystem(hostDir('web'));
    assert.equal(await readFile(join(hostDir('web'), current ?? '-', 'etc/greeting'), 'utf8'), 'hello web');
    const state = await kube.env.getJson<{
      metadata: { ownerReferences?: { kind: string; name: string }[] };
    }>('configmap', 'reconix-state-webapp');
    assert.deepEqual(
      state?.metadata.ownerReferences?.map((r) => `${r.kind}/${r.name}`),
      ['NixDeployment/webapp'],
    );
    const metrics = await (await fetch(`http://127.0.0.1:${kube.ctl.running.server.port}/metrics`)).text();
    assert.match(metrics, /reconix_deployment_ready\{deployment="default\.webapp"\} 1/);
    const table = await kube.env.kubectl(['get', 'nixd']);
    assert.match(table, /NAME\s+READY\s+DRIFTED\s+MACHINES\s+AGE\s+REASON/);
    assert.match(table, /webapp\s+True\s+False\s+2\s+\S+\s+ReconciliationSucceeded/);
  });

  it('its own status writes trigger no further reconcile', async () => {
    const before = kube.ctl.running.controller.reconciles.get(id);
    await new Promise((r) => setTimeout(r, 5000)); // a quiet period is what is being measured
    assert.equal(kube.ctl.running.controller.reconciles.get(id), before);
    // One reconcile for the new object (two if a transient failure needed a retry), none for its status writes.
    assert.ok((before ?? 0) >= 1 && (before ?? 0) <= 2, `${before} reconciles`);
  });

  it('editing one machine re-activates that machine only', async () => {
    await kube.env.kubectl(['apply', '-f', '-'], manifest('hello again', 'hello db'));
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
    await kube.env.kubectl(['annotate', '--overwrite', 'nixd/webapp', `reconix.dev/requestedAt=${t0}`]);
    const drifted = await until('Drifted=True', async () => {
      const o = await get();
      return cond(o, 'Drifted')?.status === 'True' ? o : undefined;
    });
    assert.match(cond(drifted, 'Drifted')?.message ?? '', /web/);
    assert.ok(
      kube.ctl.starts.some((s) => s.id === id && s.at - t0 < 2000),
      'requestedAt reconciled at once',
    );
    const events = await kube.env.kubectl([
      'get',
      'events',
      '--field-selector',
      'reason=DriftDetected',
      '-o',
      'name',
    ]);
    assert.notEqual(events.trim(), '');

    await kube.env.kubectl([
      'patch',
      'nixd/webapp',
      '--type=merge',
      '-p',
      '{"spec":{"driftPolicy":"Correct"}}',
    ]);
    const fixed = await converged(3);
    assert.equal(cond(fixed, 'Drifted')?.status, 'False');
    assert.equal(await hostCurrentSystem(web), activated);
  });

  it('converges after the API server restarts mid-reconcile, and misses no update', async () => {
    const gen = ((await get())?.metadata.generation ?? 0) + 1;
    await kube.env.kubectl(
      ['apply', '-f', '-'],
      manifest('before restart', 'hello db', { driftPolicy: 'Correct' }),
    );
    await until('the reconcile to start', async () => kube.ctl.starts.some((s) => s.generation === gen));
    await kube.env.kube.restartApiServer();
    // An update right after the restart, while the controller's watch is still reconnecting.
    await kube.env.kubectl(
      ['apply', '-f', '-'],
      manifest('after restart', 'hello db', { driftPolicy: 'Correct' }),
    );
    await converged(gen + 1);
    const current = await hostCurrentSystem(hostDir('web'));
    assert.equal(
      await readFile(join(hostDir('web'), current ?? '-', 'etc/greeting'), 'utf8'),
      'after restart',
    );
    assert.ok(kube.ctl.running.controller.watchRestarts > 0, 'the watch was restarted');
  });

  it('never puts the SSH key in status, events or logs', async () => {
    const secretLine = kube.ctl.key.privateKey.toString('utf8').split('\n')[2]!;
    assert.ok(secretLine.length > 20);
    const everything = [
      await kube.env.kubectl(['get', 'nixd', 'webapp', '-o', 'json']),
      await kube.env.kubectl(['get', 'events', '-o', 'json']),
      await kube.env.kubectl(['get', 'configmaps', '-o', 'json']),
      kube.ctl.log.lines.join('\n'),
    ].join('\n');
    assert.ok(!everything.includes(secretLine));
  });

  it('kubectl delete destroys the hosts, then the object goes', async () => {
    const dirs = ['web', 'db'].map(hostDir);
    await kube.env.kubectl(['delete', 'nixd', 'webapp', '--wait=false']);
    await until('the object to go', async () => (await get()) === undefined, 120_000);
    for (const d of dirs) assert.equal(existsSync(d), false, `${d} removed`);
    assert.equal(await kube.env.getJson('configmap', 'reconix-state-webapp'), undefined);
  });
});
