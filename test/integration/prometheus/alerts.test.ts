// The shipped alert rules, evaluated by a real Prometheus on what a real `reconix controller --dir` process
// exports while it manages a real local host: drift raised and resolved, failing reconciles raised and resolved.
import assert from 'node:assert/strict';
import { eventually, type Workspace } from '../../support/workspace.js';
import {
  controlTrivial,
  quickManifest,
  secondGeneration,
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
    ({ ws, controller, network } = await controlTrivial(DEPLOYMENT));
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
    await secondGeneration(ws, network);
    const desired = (await ws.state()).machines.machine!.activated!.system;

    // WHEN someone switches the host back to generation 1 by hand
    await ws.switchByHand('machine', 1);

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
