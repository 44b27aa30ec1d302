// A controller's SSH connections, kept between resyncs (--keep-connections) on a real local host: a resync reuses
// the connection the deploy opened and still sees what the host runs now; a connection the host cut while it was
// idle is replaced, not reported as an unreachable host; stopping closes what was kept; an existing host whose key
// is learnt on first contact is resynced over the connection that learnt it.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createTestHost, type TestHost } from '../../support/hosts.js';
import { makeWorkspace, eventually, type Workspace } from '../../support/workspace.js';

/** The host's sshd processes serving a connection: the children of its listening sshd. */
async function connectionProcesses(sshd: number): Promise<number[]> {
  const text = await readFile(`/proc/${sshd}/task/${sshd}/children`, 'utf8').catch(() => '');
  return text.split(/\s+/).filter(Boolean).map(Number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("a controller's SSH connections, kept between resyncs", function () {
  this.timeout(180_000);
  let ws: Workspace;
  let sshd: number;

  before(async () => {
    ws = await makeWorkspace('trivial', 'local.yaml', { keepConnectionsMs: 10 * 60_000 });
    await ws.write('local.yaml', (await ws.read('local.yaml')) + '  driftPolicy: Report\n');
  });
  after(async () => {
    await ws?.dispose();
  });

  it('resyncs over the connection the deploy opened, and sees over it what was changed by hand', async () => {
    const first = await ws.run('deploy');
    assert.equal(first.ok, true, first.message);
    sshd = (await ws.state()).machines.machine!.target!.pid as number;
    assert.equal(ws.connections()?.idle, 1);
    assert.equal((await connectionProcesses(sshd)).length, 1, 'one connection stays open on the host');

    const before = ws.connections()!;
    const noop = await ws.run('deploy');
    assert.equal(noop.ok, true, noop.message);
    assert.equal(noop.machines.machine!.outcome, 'unchanged');
    assert.equal(ws.connections()!.opened, before.opened, 'the no-op resync opens no connection');
    assert.equal(ws.connections()!.reused, before.reused + 1);

    const net = await ws.read('network.nix');
    await ws.write('network.nix', net.replace('deployed by Reconix', 'deployed by Reconix, again'));
    const second = await ws.run('deploy');
    assert.equal(second.machines.machine!.generation, 2, second.message);

    await ws.switchByHand('machine', 1);
    const opened = ws.connections()!.opened;
    const drifted = await ws.run('deploy');
    assert.equal(drifted.machines.machine!.outcome, 'drift-reported');
    assert.notEqual(drifted.machines.machine!.current, drifted.machines.machine!.system);
    assert.equal(ws.connections()!.opened, opened, 'the change by hand was seen over the kept connection');
  });

  it('replaces a connection that the host cut while it was idle', async () => {
    const cut = await connectionProcesses(sshd);
    assert.ok(cut.length > 0);
    for (const pid of cut) process.kill(pid, 'SIGTERM');
    await eventually('the cut connection to end', async () => cut.every((p) => !alive(p)), 10_000, 20);
    const before = ws.connections()!;
    const report = await ws.run('deploy');
    assert.equal(report.machines.machine!.outcome, 'drift-reported', report.message);
    assert.equal(ws.connections()!.opened, before.opened + 1);
  });

  it('closes the kept connections when it stops', async () => {
    const open = await connectionProcesses(sshd);
    assert.equal(open.length, 1);
    ws.closeConnections();
    assert.equal(ws.connections()?.idle, 0);
    await eventually(
      'the host to see its connection closed',
      async () => open.every((p) => !alive(p)),
      10_000,
      20,
    );
  });
});

describe('kept connections to an existing host whose key is learnt on first contact', function () {
  this.timeout(180_000);
  let ws: Workspace;
  let host: TestHost;

  before(async () => {
    ws = await makeWorkspace('trivial', 'none.yaml', { keepConnectionsMs: 10 * 60_000 });
    host = await createTestHost({ clientPublicKey: ws.deps.clientKey.publicKey });
    await ws.write(
      'physical-none.nix',
      `{ machine = { deployment.targetEnv = "none"; deployment.targetHost = "${host.address}"; }; }\n`,
    );
  });
  after(async () => {
    await ws?.dispose();
    await host?.destroy();
  });

  it('resyncs over the connection made before the key was pinned', async () => {
    const first = await ws.run('deploy');
    assert.equal(first.ok, true, first.message);
    assert.equal((await ws.state()).machines.machine!.hostKey, host.hostKey, 'pinned on first contact');
    const opened = ws.connections()!.opened;
    const noop = await ws.run('deploy');
    assert.equal(noop.machines.machine!.outcome, 'unchanged', noop.message);
    assert.equal(ws.connections()!.opened, opened, 'the pinned resync reuses the first connection');
    assert.equal(ws.connections()!.idle, 1);
  });
});
