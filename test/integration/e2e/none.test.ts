// The `none` target against existing hosts: partial failures, recovery, and pinned host keys.
import assert from 'node:assert/strict';
import { Reason } from '../../../src/api/conditions.js';
import { run } from '../../../src/util/exec.js';
import { createTestHost, type TestHost } from '../../support/hosts.js';
import { makeWorkspace, type Workspace } from '../../support/workspace.js';

const MACHINES = ['backend1', 'backend2', 'proxy'];

describe('deploying to existing hosts (targetEnv none)', function () {
  this.timeout(120_000);
  let ws: Workspace;
  const hosts: Record<string, TestHost> = {};

  before(async () => {
    ws = await makeWorkspace('apache');
    for (const m of MACHINES)
      hosts[m] = await createTestHost({ clientPublicKey: ws.deps.clientKey.publicKey });
    // GIVEN the physical file pointing at three hosts that exist already, with their keys declared
    const entry = (m: string) =>
      `  ${m} = { deployment.targetEnv = "none"; deployment.targetHost = "${hosts[m]!.address}";` +
      ` deployment.hostPublicKey = "${hosts[m]!.hostKey}"; };`;
    const physical = `{\n${MACHINES.map(entry).join('\n')}\n}\n`;
    await ws.write('physical-none.nix', physical);
    await ws.write('none.yaml', (await ws.read('none.yaml')).replace('maxParallel: 1', 'maxParallel: 3'));
  });
  after(async () => {
    await ws?.dispose();
    for (const h of Object.values(hosts)) await h.destroy();
  });

  it('deploys the other hosts when one sshd is down, reports which failed, and a later run finishes', async () => {
    // WHEN backend2's sshd is killed before the first deploy
    await hosts.backend2!.kill();
    const first = await ws.run('deploy', { manifest: 'none.yaml' });
    // THEN the others are activated and the failure names the machine and why
    assert.equal(first.ok, false);
    assert.equal(first.machines.backend1!.outcome, 'activated');
    assert.equal(first.machines.proxy!.outcome, 'activated');
    assert.equal(first.machines.backend2!.outcome, 'unreachable');
    assert.equal(first.machines.backend2!.error?.reason, Reason.HostUnreachable);
    assert.match(first.message, /backend2/);
    assert.equal((await hosts.backend1!.readActivations()).length, 1);
    assert.equal((await hosts.backend2!.readActivations()).length, 0);

    // WHEN the host is back, a later run finishes the job and touches nothing else
    await hosts.backend2!.restart();
    const second = await ws.run('deploy', { manifest: 'none.yaml' });
    assert.equal(second.ok, true, second.message);
    assert.equal(second.machines.backend2!.outcome, 'activated');
    assert.equal(second.machines.backend1!.outcome, 'unchanged');
    assert.equal((await hosts.backend2!.readActivations()).length, 1);
    assert.equal((await hosts.backend1!.readActivations()).length, 1);
    assert.equal(await hosts.proxy!.currentSystem(), second.machines.proxy!.system);
  });

  it('refuses a host whose key is not the declared one, naming both fingerprints', async () => {
    // WHEN backend1's host key is replaced (a rebuilt or impostor host)
    const keyFile = `${hosts.backend1!.dir}/sshd/host_key`;
    await hosts.backend1!.kill();
    await run('rm', ['-f', keyFile, `${keyFile}.pub`]);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
    await hosts.backend1!.restart();
    const report = await ws.run('deploy', { manifest: 'none.yaml' });
    // THEN the machine is refused with both fingerprints, and the others are fine
    assert.equal(report.machines.backend1!.error?.reason, Reason.HostKeyMismatch);
    const fps = report.machines.backend1!.error!.message.match(/SHA256:[A-Za-z0-9+/]{43}/g) ?? [];
    assert.equal(new Set(fps).size, 2, report.machines.backend1!.error!.message);
    assert.equal(report.machines.proxy!.outcome, 'unchanged');
  });
});
