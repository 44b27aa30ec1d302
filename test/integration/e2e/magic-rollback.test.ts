// Magic rollback on real local hosts: the activation runs detached on the host, which switches back by itself
// unless the controller confirms over a new SSH connection in time.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Reason } from '../../../src/api/conditions.js';
import type { MachineStage, ProgressEvent } from '../../../src/core/progress.js';
import { hostLayout, innerPaths, SSH_PORT } from '../../../src/providers/local/layout.js';
import { reconcileDeployment } from '../../../src/reconcile/reconciler.js';
import { requestFor } from '../../../src/source/deployments.js';
import { CLI } from '../../support/cli.js';
import { eventually, makeWorkspace, type Workspace } from '../../support/workspace.js';

const CONFIRM_MS = 3000;
/** Where the system that cuts the host off moves its sshd: its own loopback address, another port. */
const MOVED_PORT = 2222;
const ACTIVATION_STAGES: readonly MachineStage[] = [
  'activating',
  'confirming',
  'rolling-back',
  'rolled-back',
];

describe('magic rollback', function () {
  this.timeout(240_000);
  let ws: Workspace;
  let good: string;
  let hostDir: string;

  /** The example network with these activation scripts added to the machine. */
  const withScripts = (scripts: Record<string, string>): string =>
    good.replace(
      'system.stateVersion',
      `${Object.entries(scripts)
        .map(([k, v]) => `system.activationScripts.${k} = ${JSON.stringify(v)};`)
        .join('\n      ')}\n      system.stateVersion`,
    );
  /**
   * As a NixOS switch restarts sshd with the system's configuration, every system of these tests sets the port
   * of the host's sshd and sends it SIGHUP (by the PID in the host's own /run/sshd.pid), on which sshd execs
   * itself anew with that configuration: its sessions live on, new connections find it on the new port. As
   * systemd waits for a restarted unit, the activation waits for the new pid file, written once sshd listens.
   */
  const sshdOn = (port: number): Record<string, string> => {
    const config = innerPaths(hostLayout(hostDir)).config;
    const restart = [
      `sed -i 's/^Port .*/Port ${port}/' ${config}`,
      'pid=$(cat /run/sshd.pid)',
      'rm /run/sshd.pid',
      'kill -HUP "$pid"',
      'for i in $(seq 100); do [ -e /run/sshd.pid ] && break; sleep 0.1; done',
    ];
    return { sshd: restart.join(' && ') };
  };
  const sshdUp = () => sshdOn(SSH_PORT);
  let events: ProgressEvent[] = [];
  const deploy = async (o: { activationTimeoutMs?: number } = {}) => {
    const d = await ws.load();
    events = [];
    const req = requestFor(d.name, d.spec, d.source, 'deploy', { confirmTimeoutMs: CONFIRM_MS, ...o });
    return reconcileDeployment({ ...req, progress: (e) => events.push(e) }, ws.deps);
  };
  /** The activation's progress as the deploy reported it, "stage reason". */
  const activationStages = () =>
    events.flatMap((e) =>
      e.type === 'machine' && ACTIVATION_STAGES.includes(e.stage)
        ? [[e.stage, e.reason].filter(Boolean).join(' ')]
        : [],
    );
  const activationOutput = () =>
    events.flatMap((e) => (e.type === 'output' && e.stream === 'activation' ? [e.line] : []));
  const current = async () => (await ws.run('check')).machines.machine!;

  before(async () => {
    ws = await makeWorkspace('trivial');
    good = await ws.read('network.nix');
    const first = await ws.run('deploy');
    assert.equal(first.ok, true, first.message);
    hostDir = (await ws.state()).machines.machine!.target!.dir as string;
  });
  after(async () => {
    await ws?.dispose();
  });

  it('confirms a good activation over a new connection, and the host keeps it after the confirmation timeout', async () => {
    await ws.write('network.nix', withScripts({ ...sshdUp(), said: 'echo said once' }));
    const report = await deploy();
    const m = report.machines.machine!;
    assert.equal(m.outcome, 'activated', report.message);
    assert.deepEqual(activationStages(), ['activating', 'confirming']);
    // The host's output came once, whether read over the first connection or the confirming one.
    assert.deepEqual(
      activationOutput().filter((l) => l.includes('said')),
      ['said once'],
    );
    // WHEN the confirmation timeout has passed (time must pass here: there is no event to wait for)
    await new Promise((r) => setTimeout(r, CONFIRM_MS + 1000));
    // THEN the host still runs the new system and says the activation was confirmed
    const now = await current();
    assert.equal(now.current, m.system);
    assert.equal(now.lastActivation?.state, 'confirmed');
  });

  it('reverts by itself when the activation cuts SSH, and is reachable again on its old address', async () => {
    const before = (await current()).current;
    // GIVEN a system whose sshd listens on another port: its activation cuts the host off its old address, the
    // running session lives on
    await ws.write('network.nix', withScripts({ ...sshdOn(MOVED_PORT), moved: 'echo sshd moved' }));
    const report = await deploy();
    const m = report.machines.machine!;
    // THEN the machine is RolledBack (ConnectivityLost)
    assert.equal(m.outcome, 'rolled-back', report.message);
    assert.equal(m.error?.reason, Reason.ConnectivityLost);
    assert.match(m.error!.message, /rolled back to generation \d+/);
    // with the host's own account of it, read from the activation's log
    assert.match(m.error!.message, /no confirmation within 3000 ms/);
    assert.deepEqual(activationStages(), [
      'activating',
      'confirming',
      'rolling-back ConnectivityLost',
      'rolled-back ConnectivityLost',
    ]);
    // and -v saw the host's output while it ran, each line once, the rollback's last
    const lines = activationOutput();
    assert.deepEqual(
      lines.filter((l) => /sshd moved|no confirmation|switching back/.test(l)),
      ['sshd moved', 'no confirmation within 3000 ms', `switching back to ${before}`],
      lines.join('\n'),
    );
    // AND the old system's activation put sshd back: a new connection reaches the host on its old address, where
    // it runs its previous system
    const now = await current();
    assert.equal(now.current, before);
    assert.deepEqual(
      { state: now.lastActivation?.state, reason: now.lastActivation?.reason },
      { state: 'rolled-back', reason: 'ConnectivityLost' },
    );
  });

  it('kills a hung activation after the activation timeout and rolls back', async () => {
    const before = (await current()).current;
    await ws.write('network.nix', withScripts({ ...sshdUp(), hang: 'sleep 637' }));
    const report = await deploy({ activationTimeoutMs: 2000 });
    const m = report.machines.machine!;
    assert.equal(m.outcome, 'rolled-back', report.message);
    assert.equal(m.error?.reason, Reason.ActivationTimeout);
    assert.deepEqual(activationStages(), [
      'activating',
      'rolling-back ActivationTimeout',
      'rolled-back ActivationTimeout',
    ]);
    assert.equal((await current()).current, before);
    assert.deepEqual(await processesRunning(['sleep', '637']), []);
  });

  it('leaves a host that reverts when the controller is killed mid-activation; the next deploy says so and converges', async () => {
    const before = (await current()).current;
    // GIVEN a slow activation, so that the kill lands while the host is switching
    await ws.write('network.nix', withScripts({ ...sshdUp(), slow: 'sleep 1' }));
    const manifest = join(ws.dir, 'local.yaml');
    const args = [
      '-f',
      manifest,
      '--state-dir',
      ws.stateDir,
      'deploy',
      '--confirm-timeout',
      `${CONFIRM_MS}ms`,
    ];
    const child = spawn(process.execPath, [CLI, ...args], { stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    const activations = join(hostDir, 'nix/var/reconix/activations');
    const known = new Set(await readdir(activations));
    // WHEN the controller is killed right after the host started switching
    const id = await eventually(
      'the host to start an activation',
      async () => (await readdir(activations)).find((d) => !known.has(d)),
      120_000,
      50,
    );
    process.kill(child.pid!, 'SIGKILL');
    await exited;
    // THEN no confirmation arrives, and the host goes back to what it ran before
    const status = join(activations, id, 'status');
    await eventually(
      'the host to roll back',
      async () => (await readFile(status, 'utf8')).startsWith('rolled-back'),
      60_000,
    );
    assert.equal((await current()).current, before);
    // AND the next deploy reports what the host did, then converges
    const report = await deploy();
    const m = report.machines.machine!;
    assert.deepEqual(m.lastActivation, { id, state: 'rolled-back', reason: 'ConnectivityLost' });
    assert.equal(m.outcome, 'activated', report.message);
    assert.equal((await current()).current, m.system);
  });
});

/** PIDs of processes whose command line is exactly `argv`. */
async function processesRunning(argv: string[]): Promise<number[]> {
  const want = `${argv.join('\0')}\0`;
  const found: number[] = [];
  for (const pid of (await readdir('/proc')).filter((d) => /^\d+$/.test(d))) {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd === want) found.push(Number(pid));
  }
  return found;
}
