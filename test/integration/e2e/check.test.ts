// `reconix check` on real local hosts: each bit of its exit code from the situation it stands for, alone and
// combined, and its --json (with info's) against the published schemas.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { run } from '../../../src/util/exec.js';
import { reconix, type CliRun } from '../../support/cli.js';
import { assertConforms } from '../../support/schemas.js';
import { makeWorkspace, type Workspace } from '../../support/workspace.js';
import type { CheckOutput, InfoOutput } from '../../../src/api/output.js';

const MACHINES = ['backend1', 'backend2', 'proxy'];

describe('reconix check on local hosts', function () {
  this.timeout(180_000);
  let ws: Workspace;
  let good: string;
  const cli = (...args: string[]): Promise<CliRun> =>
    reconix(['-f', join(ws.dir, 'local.yaml'), '--state-dir', ws.stateDir, ...args]);

  /** Run check; assert its exit status and that its --json says the same and follows the schema. */
  async function check(expected: number): Promise<CheckOutput> {
    const text = await cli('check');
    assert.equal(text.code, expected, text.stdout + text.stderr);
    const json = await cli('check', '--json');
    assert.equal(json.code, expected, json.stdout + json.stderr);
    const out = assertConforms('check', json.stdout) as CheckOutput;
    assert.equal(out.exitCode, expected);
    return out;
  }
  const machine = (out: CheckOutput, name: string) => out.machines.find((m) => m.machine === name)!;

  async function onHost(name: string, script: string): Promise<void> {
    const pid = (await ws.state()).machines[name]?.target?.pid;
    assert.equal(typeof pid, 'number');
    await run('nsenter', ['--mount', '--target', String(pid), '--', 'sh', '-c', script]);
  }
  const withMotd = (text: string, name: string, motd: string) =>
    text.replace(
      `${name} = backend "${name}";`,
      `${name} = { imports = [ (backend "${name}") ]; environment.etc.motd.text = "${motd}"; };`,
    );

  before(async () => {
    ws = await makeWorkspace('apache');
    await ws.load(); // so that dispose() destroys the hosts the CLI creates
    good = await ws.read('network.nix');
  });
  after(async () => {
    await ws?.dispose();
  });

  it('exits 1 (missing) when no host was created yet, and 0 once deployed', async () => {
    const out = await check(1);
    for (const m of MACHINES) assert.equal(machine(out, m).exists, false, m);
    const deploy = await cli('deploy');
    assert.equal(deploy.code, 0, deploy.stdout + deploy.stderr);
    const ok = await check(0);
    for (const m of MACHINES) assert.deepEqual([m, machine(ok, m).reachable], [m, true]);
    const info = assertConforms('info', (await cli('info', '--json')).stdout) as InfoOutput;
    assert.deepEqual(
      info.machines.map((m) => [m.machine, m.state, m.generation]),
      MACHINES.map((m) => [m, 'in-sync', 1]),
    );
  });

  it('exits 2 (down) for a host stopped with reconix stop, and for one whose sshd was killed', async () => {
    assert.equal((await cli('stop', '--include', 'backend2')).code, 0);
    const out = await check(2);
    assert.deepEqual(
      [machine(out, 'backend2').exists, machine(out, 'backend2').up, machine(out, 'backend2').reachable],
      [true, false, false],
    );
    assert.match((await cli('check')).stdout, /^backend2\s+yes\s+no\s+no\s+down/m);
    // A local host's start is a boot that leaves /run empty: the next deploy activates its system again.
    assert.equal((await cli('start', '--include', 'backend2')).code, 0);
    assert.equal((await cli('deploy')).code, 0);
    await check(0);

    const pid = (await ws.state()).machines.proxy!.target!.pid as number;
    process.kill(pid, 'SIGKILL');
    const killed = await check(2);
    assert.equal(machine(killed, 'proxy').up, false);
    const info = assertConforms('info', (await cli('info', '--json')).stdout) as InfoOutput;
    assert.equal(info.machines.find((m) => m.machine === 'proxy')?.state, 'down');
    assert.equal((await cli('deploy')).code, 0);
    await check(0);
  });

  it('exits 16 (outdated) when the spec changed and was not deployed yet', async () => {
    await ws.write('network.nix', withMotd(good, 'backend1', 'v2'));
    const out = await check(16);
    assert.equal(machine(out, 'backend1').outdated, true);
    assert.notEqual(machine(out, 'backend1').running, machine(out, 'backend1').expected);
    assert.equal(machine(out, 'backend2').outdated, false);
    assert.equal((await cli('deploy')).code, 0);
    await check(0);
  });

  it('exits 8 (drifted) after an out-of-band switch to another generation', async () => {
    await onHost(
      'backend1',
      'nix-env -p /nix/var/nix/profiles/system --switch-generation 1 >/dev/null 2>&1 && ' +
        '/nix/var/nix/profiles/system/bin/switch-to-configuration switch',
    );
    const out = await check(8);
    assert.equal(machine(out, 'backend1').drifted, true);
    assert.match((await cli('check')).stdout, /^backend1\s+yes\s+yes\s+yes\s+DRIFTED/m);
  });

  it('exits 64 (error) with the Nix message on a syntax error in a network file', async () => {
    await ws.write(
      'network.nix',
      withMotd(good, 'backend1', 'v2').replace('backend2 = backend', 'backend2 = = '),
    );
    try {
      const out = await check(64);
      assert.equal(out.error?.reason, 'EvaluationFailed');
      assert.match(out.error!.message, /network\.nix:\d+/);
      assert.match((await cli('check')).stdout, /Error \(EvaluationFailed\): .*network\.nix:\d+/s);
    } finally {
      await ws.write('network.nix', withMotd(good, 'backend1', 'v2'));
    }
  });

  it('sets every bit that applies at once: down, drifted and outdated (26)', async () => {
    // GIVEN backend1 still drifted, backend2 stopped and a change to the proxy not deployed
    assert.equal((await cli('stop', '--include', 'backend2')).code, 0);
    await ws.write(
      'network.nix',
      withMotd(good, 'backend1', 'v2').replace(
        'ServerName proxy.${domain}',
        'ServerName proxy.${domain}\n        ServerAdmin root@${domain}',
      ),
    );
    const out = await check(2 | 8 | 16);
    assert.deepEqual(
      out.machines.map((m) => [m.machine, m.up, m.drifted, m.outdated]),
      [
        ['backend1', true, true, false],
        ['backend2', false, false, false],
        ['proxy', true, false, true],
      ],
    );
  });
});
