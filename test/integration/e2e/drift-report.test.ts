// driftPolicy Report: drift is detected, exported as a metric and left alone.
import assert from 'node:assert/strict';
import { ReconixMetrics } from '../../../src/metrics/metrics.js';
import { makeWorkspace, type Workspace } from '../../support/workspace.js';

describe('driftPolicy Report', function () {
  this.timeout(120_000);
  let ws: Workspace;

  before(async () => {
    ws = await makeWorkspace('trivial');
  });
  after(async () => {
    await ws?.dispose();
  });

  it('reports an out-of-band change, raises the drift gauge, and leaves the host as it is', async () => {
    // GIVEN a machine deployed twice (two generations) under driftPolicy Report
    await ws.write('local.yaml', (await ws.read('local.yaml')) + '  driftPolicy: Report\n');
    assert.equal((await ws.run('deploy')).ok, true);
    const net = await ws.read('network.nix');
    await ws.write('network.nix', net.replace('deployed by Reconix', 'deployed by Reconix, again'));
    const second = await ws.run('deploy');
    assert.equal(second.machines.machine!.generation, 2);

    // WHEN someone switches the host back to generation 1 by hand
    await ws.switchByHand('machine', 1);
    const activations = await ws.activations('machine');

    // THEN a reconcile reports the drift, does not correct it, and the gauge says so
    const report = await ws.run('deploy');
    const m = report.machines.machine!;
    assert.equal(m.outcome, 'drift-reported');
    assert.notEqual(m.current, m.system);
    assert.deepEqual(await ws.activations('machine'), activations);
    const metrics = new ReconixMetrics({ processMetrics: false });
    metrics.record(report);
    const text = await metrics.registry.metrics();
    assert.match(text, /reconix_machine_drifted\{deployment="trivial-local",machine="machine"\} 1/);
  });
});
