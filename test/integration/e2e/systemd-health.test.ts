// The "no failed systemd units" health check against a real systemd: the machine's host runs under its own
// systemd (test/support/systemd-host.ts), so the check's systemctl over SSH asks that systemd. A unit that failed
// fails the check naming it, and the machine is rolled back; with none failed, the machine counts as updated.
import assert from 'node:assert/strict';
import { Reason } from '../../../src/api/conditions.js';
import { createTestHost, type TestHost } from '../../support/hosts.js';
import { eventually, makeWorkspace, type Workspace } from '../../support/workspace.js';

// Generation `gen`; with `broken`, its activation leaves the unit demo-broken.service failed (a oneshot that runs
// false), as a NixOS generation with a service that does not start would. A generation without it removes the unit
// and clears its failed state, as switch-to-configuration does with the units a generation no longer has.
const network = (address: string, hostKey: string) => `{ gen ? "1", broken ? "", ... }:
{
  network.description = "systemd health";
  machine = { ... }: {
    deployment.targetEnv = "none";
    deployment.targetHost = "${address}";
    deployment.hostPublicKey = "${hostKey}";
    deployment.healthChecks = [ { systemd = true; retries = 1; period = "200ms"; } ];
    environment.etc."generation".text = gen;
    system.activationScripts.demo =
      if broken == "" then ''
        rm -f /run/systemd/system/demo-broken.service
        systemctl daemon-reload
        systemctl reset-failed demo-broken.service 2>/dev/null || true
      '' else ''
        printf '[Service]\\nType=oneshot\\nExecStart=/bin/false\\n' >/run/systemd/system/demo-broken.service
        systemctl daemon-reload
        systemctl start demo-broken.service || true
      '';
    system.stateVersion = "24.05";
  };
}
`;

const manifest = (gen: string, broken = '') => `apiVersion: reconix.dev/v1alpha1
kind: NixDeployment
metadata: { name: systemd-health }
spec:
  network: { files: [network.nix], args: { gen: "${gen}", broken: "${broken}" } }
  builder: mini
`;

describe('the systemd health check on a host under a real systemd', function () {
  this.timeout(300_000);
  let ws: Workspace;
  let host: TestHost;

  const deploy = async (gen: string, broken = '') => {
    await ws.write('systemd.yaml', manifest(gen, broken));
    return ws.run('deploy');
  };
  const failedUnits = async () => {
    const r = await host.exec(['systemctl', 'list-units', '--failed', '--no-legend', '--plain']);
    assert.equal(r.exitCode, 0, r.stderr);
    return r.stdout.trim();
  };

  before(async () => {
    ws = await makeWorkspace('trivial', 'systemd.yaml');
    host = await createTestHost({ clientPublicKey: ws.deps.clientKey.publicKey, systemd: true });
    await ws.write('network.nix', network(host.address, host.hostKey));
  });
  after(async () => {
    await ws?.dispose();
    await host?.destroy();
  });

  it('passes with no failed units, and the machine counts as updated', async () => {
    // GIVEN a host whose systemd has no failed unit
    assert.equal(await failedUnits(), '');
    // WHEN generation 1 is deployed
    const report = await deploy('1');
    // THEN the check passed and the machine runs the new system
    assert.equal(report.ok, true, report.message);
    assert.equal(report.machines.machine!.outcome, 'activated');
    assert.equal(report.rollout?.state, 'complete');
    assert.equal(await host.currentSystem(), report.machines.machine!.system);
  });

  it('fails on a unit the new generation left failed, naming it, and rolls the machine back', async () => {
    const before = await host.currentSystem();
    // WHEN generation 2, whose activation leaves demo-broken.service failed, is deployed
    const report = await deploy('2', 'yes');
    // THEN the check fails naming the unit, and the machine is back on generation 1
    assert.equal(report.ok, false);
    assert.equal(report.reason, Reason.RolloutFailed);
    assert.equal(report.rollout?.failed?.machine, 'machine');
    assert.equal(report.rollout?.failed?.check, 'systemd');
    assert.match(report.rollout?.failed?.message ?? '', /failed units: demo-broken\.service \(2 attempts\)/);
    assert.match(report.message, /demo-broken\.service/);
    assert.equal(report.machines.machine!.rolledBack, true);
    assert.equal(await host.currentSystem(), before);
    // AND generation 1's activation, run again by the rollback, left no unit failed
    assert.equal(await failedUnits(), '');
  });

  it('fails on a unit that failed on the host outside any deployment, and passes once it is reset', async () => {
    const before = await host.currentSystem();
    // GIVEN a transient unit that exited 1 on the host
    const run = await host.exec(['systemd-run', '--unit=demo-transient', '/bin/sh', '-c', 'exit 1']);
    assert.equal(run.exitCode, 0, run.stderr);
    // (systemd-run returns once the unit started; it fails just after)
    await eventually('the transient unit to fail', async () =>
      (await failedUnits()).startsWith('demo-transient.service'),
    );
    // WHEN generation 3 is deployed
    const failed = await deploy('3');
    // THEN its check names the transient unit and the machine is rolled back
    assert.equal(failed.ok, false);
    assert.match(failed.rollout?.failed?.message ?? '', /failed units: demo-transient\.service/);
    assert.equal(failed.machines.machine!.rolledBack, true);
    assert.equal(await host.currentSystem(), before);
    // WHEN the unit's failure is reset and generation 4 is deployed
    assert.equal((await host.exec(['systemctl', 'reset-failed', 'demo-transient.service'])).exitCode, 0);
    const passed = await deploy('4');
    // THEN the check passes and the machine counts as updated
    assert.equal(passed.ok, true, passed.message);
    assert.equal(passed.machines.machine!.outcome, 'activated');
    assert.equal(await host.currentSystem(), passed.machines.machine!.system);
  });
});
