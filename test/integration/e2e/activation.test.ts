// A failed activation rolls the machine back to what it ran before; activation modes.
import assert from 'node:assert/strict';
import { Reason } from '../../../src/api/conditions.js';
import { makeWorkspace, type Workspace } from '../../support/workspace.js';

describe('activation', function () {
  this.timeout(120_000);
  let ws: Workspace;
  let good: string;

  before(async () => {
    ws = await makeWorkspace('trivial');
    good = await ws.read('network.nix');
    assert.equal((await ws.run('deploy')).ok, true);
  });
  after(async () => {
    await ws?.dispose();
  });

  it('rolls a machine back to its previous generation when switch-to-configuration fails', async () => {
    const before = (await ws.state()).machines.machine!.activated!;
    // GIVEN a new system whose activation fails
    await ws.write(
      'network.nix',
      good.replace(
        'system.stateVersion',
        'system.activationScripts.broken = "echo no disk >&2; exit 3";\n      system.stateVersion',
      ),
    );
    const report = await ws.run('deploy');
    // THEN the machine is reported failed, runs its previous system again, and the record is unchanged
    const m = report.machines.machine!;
    assert.equal(report.ok, false);
    assert.equal(m.error?.reason, Reason.ActivationFailed);
    assert.match(m.error!.message, /rolled back to generation 1/);
    const log = await ws.activations('machine');
    assert.match(log.at(-1)!, new RegExp(`switch ${before.system}$`));
    assert.equal((await ws.state()).machines.machine!.activated!.system, before.system);
    const check = await ws.run('check');
    assert.equal(check.machines.machine!.current, before.system);
  });

  it('with mode test, activates without adding a generation; with boot, only sets the profile', async () => {
    await ws.write('network.nix', good.replace('deployed by Reconix', 'tested by Reconix'));
    const tested = await ws.run('deploy', { mode: 'test' });
    assert.equal(tested.machines.machine!.outcome, 'activated', tested.message);
    assert.equal(tested.machines.machine!.generation, undefined);
    assert.match((await ws.activations('machine')).at(-1)!, / test \//);

    await ws.write('network.nix', good.replace('deployed by Reconix', 'booted by Reconix'));
    const booted = await ws.run('deploy', { mode: 'boot' });
    const b = booted.machines.machine!;
    assert.equal(b.outcome, 'activated', booted.message);
    assert.match((await ws.activations('machine')).at(-1)!, / boot \//);
    const again = await ws.run('plan', { mode: 'boot' });
    assert.deepEqual(again.plan.actions, []);
  });
});

describe('dry activation', function () {
  this.timeout(60_000);
  let ws: Workspace;
  after(async () => {
    await ws?.dispose();
  });

  it('never creates a machine', async () => {
    ws = await makeWorkspace('trivial');
    const report = await ws.run('deploy', { mode: 'dry-activate' });
    assert.equal(report.machines.machine!.verdict, 'create');
    assert.equal(report.machines.machine!.created, undefined);
    assert.deepEqual((await ws.state()).machines, {});
  });
});
