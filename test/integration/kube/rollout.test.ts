// Rollouts in Kubernetes mode against a real API server and local hosts: a rollout paused after its first wave
// goes on when the reconix.dev/resume annotation is set; a wave whose health check fails is rolled back, Ready
// says RolloutFailed, the machine's state is RolledBack, an event says so, and the metrics count the rollback.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostDirName } from '../../../src/providers/local/layout.js';
import { cond, hostActivations, hostCurrentSystem, until } from './harness.js';
import { keyedKubeSuite, nixDeployment, sshKeyRef, type DeploymentObject } from './fixtures.js';

interface Obj extends DeploymentObject {
  status?: DeploymentObject['status'] & {
    machineStates?: { name: string; state: string; message?: string }[];
  };
}

// Every machine's /etc/health says "ok" but that of `bad`; the health check reads it.
const network = (gen: string, bad: string) => `{
  network.description = "kube rollout";
  defaults = { name, ... }: {
    deployment.targetEnv = "local";
    deployment.healthChecks = [ { cmd = "grep -qx ok /run/current-system/etc/health"; retries = 1; period = "100ms"; } ];
    environment.etc."health".text = if name == "${bad}" then "bad\\n" else "ok\\n";
    environment.etc."generation".text = "${gen}";
  };
  web = { ... }: { };
  db = { ... }: { };
}`;

const manifest = (gen: string, bad: string, strategy: Record<string, unknown>) =>
  nixDeployment('fleet', network(gen, bad), { ...sshKeyRef('fleet-ssh'), rollout: { strategy } });

describe('rollouts in Kubernetes mode (real kube-apiserver, local hosts)', function () {
  this.timeout(600_000);
  const kube = keyedKubeSuite('fleet-ssh');
  const id = 'default.fleet';
  const hostDir = (machine: string) => join(kube.ctl.hostsDir, hostDirName(id, machine));
  const get = () => kube.env.getJson<Obj>('nixdeployment', 'fleet');
  const readyWith = (generation: number, reason: string) =>
    until(
      `fleet at generation ${generation} with Ready reason ${reason}`,
      async () => {
        const o = await get();
        return o?.status?.observedGeneration === generation && cond(o, 'Ready')?.reason === reason
          ? o
          : undefined;
      },
      240_000,
    );

  it('pauses after the first wave and goes on when reconix.dev/resume is set', async () => {
    // GIVEN a rollout that pauses after web, its first wave
    await kube.env.kubectl(
      ['apply', '-f', '-'],
      manifest('1', '', { waves: [{ selector: { names: 'web' }, pause: true }] }),
    );
    // THEN web is activated, db is not, and Ready says the rollout is paused
    const paused = await readyWith(1, 'RolloutPaused');
    assert.match(cond(paused, 'Ready')?.message ?? '', /paused/i);
    assert.equal((await hostActivations(hostDir('web'))).length, 1);
    assert.equal(await hostCurrentSystem(hostDir('db')), undefined, 'db is not activated yet');
    // WHEN the resume annotation is set
    await kube.env.kubectl(['annotate', 'nixdeployment', 'fleet', 'reconix.dev/resume=1']);
    // THEN db is activated and the deployment turns Ready
    await readyWith(1, 'ReconciliationSucceeded');
    assert.equal((await hostActivations(hostDir('db'))).length, 1);
    assert.equal((await hostActivations(hostDir('web'))).length, 1, 'web is not activated again');
  });

  it('rolls back the wave whose health check fails: RolloutFailed, RolledBack machine, event, metric', async () => {
    const dbBefore = await hostCurrentSystem(hostDir('db'));
    // GIVEN generation 2, in which db fails its check, rolled out web first, then db
    await kube.env.kubectl(
      ['apply', '-f', '-'],
      manifest('2', 'db', { waves: [{ selector: { names: 'web' } }] }),
    );
    // THEN Ready is False with RolloutFailed, naming the wave, the machine and the check
    const failed = await readyWith(2, 'RolloutFailed');
    const ready = cond(failed, 'Ready');
    assert.equal(ready?.status, 'False');
    assert.match(ready?.message ?? '', /wave 2 of 2: machine db, check cmd grep/);
    // AND db is back on what it ran, marked RolledBack; web keeps generation 2
    assert.equal(await hostCurrentSystem(hostDir('db')), dbBefore);
    const states = Object.fromEntries((failed.status?.machineStates ?? []).map((m) => [m.name, m.state]));
    assert.equal(states.db, 'RolledBack');
    const webGen = await readFile(
      join(hostDir('web'), (await hostCurrentSystem(hostDir('web'))) ?? '-', 'etc/generation'),
      'utf8',
    );
    assert.equal(webGen, '2');
    // AND an event says the rollout switched db back, and the metrics count it
    const events = await until(
      'a RolledBack event',
      async () => {
        const list = await kube.env.kubectl([
          'get',
          'events',
          '--field-selector',
          'involvedObject.name=fleet,reason=RolledBack',
          '-o',
          'json',
        ]);
        const items = (JSON.parse(list) as { items: { message: string }[] }).items;
        return items.length > 0 ? items : undefined;
      },
      60_000,
    );
    assert.match(events.map((e) => e.message).join('\n'), /the rollout failed.*db/);
    const metrics = await (await fetch(`http://127.0.0.1:${kube.ctl.running.server.port}/metrics`)).text();
    assert.match(metrics, /reconix_rollbacks_total\{deployment="default\.fleet",reason="[^"]+"\} 1/);
    assert.match(metrics, /reconix_rollout_wave\{deployment="default\.fleet"\} 2/);
  });
});
