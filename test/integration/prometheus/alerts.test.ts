// The shipped alert rules, evaluated by a real Prometheus on what a real `reconix controller --dir` process
// exports while it manages a real local host: drift raised and resolved, failing reconciles raised and resolved.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../../src/util/exec.js';
import { eventually, makeWorkspace, type Workspace } from '../../support/workspace.js';
import {
  quickManifest,
  startController,
  startPrometheus,
  type ControllerProcess,
  type PrometheusServer,
} from './processes.js';

const DEPLOYMENT = 'trivial-local';

describe('the shipped alerts on a real controller process, evaluated by a real Prometheus', function () {
  this.timeout(300_000);
  let ws: Workspace;
  let controller: ControllerProcess | undefined;
  let prometheus: PrometheusServer | undefined;
  let network: string;

  const alertState = async (name: string): Promise<string> => {
    const mine = (await prometheus!.alerts()).filter(
      (a) => a.labels.alertname === name && a.labels.deployment === DEPLOYMENT,
    );
    return mine[0]?.state ?? 'inactive';
  };
  const waitFor = (name: string, state: string) =>
    eventually(`${name} ${state}`, async () => (await alertState(name)) === state, 90_000, 250);

  before(async () => {
    ws = await makeWorkspace('trivial');
    // Only the local manifest: the other one names a host that is not ours.
    await rm(join(ws.dir, 'none.yaml'));
    await ws.write('local.yaml', quickManifest(DEPLOYMENT, undefined, 'Report'));
    network = await ws.read('network.nix');
    controller = await startController(ws.dir, ws.stateDir);
    prometheus = await startPrometheus(`127.0.0.1:${controller.port}`, {
      ReconixMachineDrifted: '2s',
      ReconixReconcileFailing: '2s',
    });
  });
  after(async () => {
    await prometheus?.stop();
    await controller?.stop();
    await ws?.dispose();
  });

  it('deploys the machine and is scraped', async () => {
    await eventually(
      'the first activation',
      async () => (await ws.activations('machine')).length === 1,
      120_000,
    );
    await eventually(
      'the deployment Ready in Prometheus',
      async () => (await prometheus!.value(`reconix_deployment_ready{deployment="${DEPLOYMENT}"}`)) === '1',
    );
    assert.equal(await alertState('ReconixMachineDrifted'), 'inactive');
  });

  it('fires ReconixMachineDrifted for a host switched out of band, keeps it through a broken manifest, and resolves it once the host is corrected', async () => {
    // GIVEN a second generation deployed by the controller
    await ws.write('network.nix', network.replace('deployed by Reconix', 'deployed by Reconix, again'));
    await eventually(
      'generation 2',
      async () => (await ws.state()).machines.machine?.activated?.generation === 2,
      120_000,
    );
    const desired = (await ws.state()).machines.machine!.activated!.system;

    // WHEN someone switches the host back to generation 1 by hand
    const pid = (await ws.state()).machines.machine!.target!.pid as number;
    await run('nsenter', [
      '--mount',
      '--target',
      String(pid),
      '--',
      'sh',
      '-c',
      'nix-env -p /nix/var/nix/profiles/system --switch-generation 1 2>/dev/null && /nix/var/nix/profiles/system/bin/switch-to-configuration switch',
    ]);

    // THEN the drift alert fires for that machine, while Report leaves the host as it is
    await waitFor('ReconixMachineDrifted', 'firing');
    const firing = (await prometheus!.alerts()).find((a) => a.labels.alertname === 'ReconixMachineDrifted');
    assert.equal(firing?.labels.machine, 'machine');
    assert.doesNotMatch((await ws.activations('machine')).at(-1)!, new RegExp(`switch ${desired}$`));

    // WHEN the manifest stops parsing, THEN the deployment is kept: its drift alert goes on firing
    await ws.write('local.yaml', quickManifest(DEPLOYMENT, undefined, 'Report').replace('spec:', 'spec: ['));
    await waitFor('ReconixReconcileFailing', 'firing');
    assert.match(controller!.log(), /"reason":"InvalidManifest"/);
    assert.equal(await alertState('ReconixMachineDrifted'), 'firing');

    // WHEN the deployment is switched to Correct
    await ws.write('local.yaml', quickManifest(DEPLOYMENT, undefined, 'Correct'));

    // THEN the controller re-activates the desired system and both alerts resolve
    await waitFor('ReconixMachineDrifted', 'inactive');
    await waitFor('ReconixReconcileFailing', 'inactive');
    assert.match((await ws.activations('machine')).at(-1)!, new RegExp(`switch ${desired}$`));
    assert.equal(await prometheus!.value(`reconix_machine_drifted{deployment="${DEPLOYMENT}"}`), '0');
  });

  it('fires ReconixReconcileFailing while the network file does not parse, and resolves it once it is fixed', async () => {
    // WHEN the network file gets a syntax error
    const good = await ws.read('network.nix');
    await ws.write('network.nix', good.replace('network.description', 'network.description ='));

    // THEN the failing-reconcile alert fires for the deployment
    await waitFor('ReconixReconcileFailing', 'firing');
    assert.equal(await prometheus!.value(`reconix_deployment_ready{deployment="${DEPLOYMENT}"}`), '0');
    assert.match(controller!.log(), /"reason":"EvaluationFailed"/);

    // WHEN the file is fixed, THEN it resolves
    await ws.write('network.nix', good);
    await waitFor('ReconixReconcileFailing', 'inactive');
    assert.equal(await prometheus!.value(`reconix_deployment_ready{deployment="${DEPLOYMENT}"}`), '1');
  });
});
