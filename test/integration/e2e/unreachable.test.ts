// Existing hosts (targetEnv none) that cannot be reached: a stopped sshd, a wrong declared host key, a host
// re-keyed after its key was pinned. check says unreachable with the reason (exit bit 4), plan shows and counts
// them, and the --json of all four commands follows the published schemas, failed machines included.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { CheckOutput, DeployOutput, InfoOutput, PlanOutput } from '../../../src/api/output.js';
import { run } from '../../../src/util/exec.js';
import { reconix, type CliRun } from '../../support/cli.js';
import { createTestHost, makeClientKey, type TestHost } from '../../support/hosts.js';
import { assertConforms } from '../../support/schemas.js';
import { makeWorkspace, type Workspace } from '../../support/workspace.js';

const MACHINES = ['backend1', 'backend2', 'proxy'];
const FINGERPRINT = /SHA256:[A-Za-z0-9+/]{43}/g;

describe('machines whose hosts cannot be reached, in check and plan', function () {
  this.timeout(180_000);
  let ws: Workspace;
  let good: string;
  const hosts: Record<string, TestHost> = {};
  const cli = (...args: string[]): Promise<CliRun> =>
    reconix(['-f', join(ws.dir, 'none.yaml'), '--state-dir', ws.stateDir, ...args]);

  /** The physical file: every host declared with its key, except backend2's, pinned on first contact. */
  async function physical(keyOf: (m: string) => string | undefined = (m) => hosts[m]!.hostKey) {
    const entry = (m: string) => {
      const key = m === 'backend2' ? undefined : keyOf(m);
      return (
        `  ${m} = { deployment.targetEnv = "none"; deployment.targetHost = "${hosts[m]!.address}";` +
        `${key ? ` deployment.hostPublicKey = "${key}";` : ''} };`
      );
    };
    await ws.write('physical-none.nix', `{\n${MACHINES.map(entry).join('\n')}\n}\n`);
  }

  async function check(expected: number): Promise<{ text: string; out: CheckOutput }> {
    const text = await cli('check');
    assert.equal(text.code, expected, text.stdout + text.stderr);
    const json = await cli('check', '--json');
    assert.equal(json.code, expected, json.stdout + json.stderr);
    return { text: text.stdout, out: assertConforms('check', json.stdout) as CheckOutput };
  }

  /** plan, in text and --json: the machine is shown and counted as unreachable, with `why`. */
  async function planShowsUnreachable(name: string, why: RegExp): Promise<PlanOutput> {
    const text = await cli('plan');
    assert.equal(text.code, 2, text.stdout + text.stderr);
    assert.match(text.stdout, new RegExp(`^  x ${name}\\s+none\\s+unreachable: .*${why.source}`, 'm'));
    assert.match(text.stdout, /Plan: 0 to create, 0 to update, 0 drifted, 2 unchanged, 1 unreachable\./);
    const json = await cli('plan', '--json');
    assert.equal(json.code, 2, json.stderr);
    const plan = assertConforms('plan', json.stdout) as PlanOutput;
    const m = plan.machines.find((p) => p.machine === name);
    assert.equal(m?.verdict, 'unreachable');
    assert.match(m?.note ?? '', why);
    assert.deepEqual(plan.counts, { create: 0, update: 0, drifted: 0, unchanged: 2, unreachable: 1 });
    assert.deepEqual(plan.actions, []);
    return plan;
  }

  before(async () => {
    ws = await makeWorkspace('apache', 'none.yaml');
    await ws.load();
    for (const m of MACHINES)
      hosts[m] = await createTestHost({ clientPublicKey: ws.deps.clientKey.publicKey });
    await physical();
    good = await ws.read('network.nix');
  });
  after(async () => {
    await ws?.dispose();
    for (const h of Object.values(hosts)) await h.destroy();
  });

  it('deploy --json follows its schema with an unreachable and a failed machine, and a later run succeeds', async () => {
    // GIVEN backend1's sshd stopped and an activation of backend2 that fails
    await hosts.backend1!.kill();
    await ws.write(
      'network.nix',
      good.replace(
        'backend2 = backend "backend2";',
        'backend2 = { imports = [ (backend "backend2") ]; system.activationScripts.broken = "exit 3"; };',
      ),
    );
    const failed = await cli('deploy', '--json');
    assert.equal(failed.code, 1, failed.stdout + failed.stderr);
    const report = assertConforms('deploy', failed.stdout) as DeployOutput;
    assert.equal(report.machines.backend1?.outcome, 'unreachable');
    assert.equal(report.machines.backend1?.error?.reason, 'HostUnreachable');
    assert.equal(report.machines.backend2?.outcome, 'failed');
    assert.equal(report.machines.backend2?.error?.reason, 'ActivationFailed');
    assert.equal(report.machines.proxy?.outcome, 'activated');

    await hosts.backend1!.restart();
    await ws.write('network.nix', good);
    const ok = await cli('deploy', '--json');
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal((assertConforms('deploy', ok.stdout) as DeployOutput).ok, true);
    assert.equal((await check(0)).out.machines.length, 3);
  });

  it('check exits 4 and plan shows and counts the machine unreachable when its sshd is stopped', async () => {
    await hosts.proxy!.kill();
    try {
      const { text, out } = await check(4);
      const proxy = out.machines.find((m) => m.machine === 'proxy')!;
      assert.deepEqual([proxy.exists, proxy.up, proxy.reachable], [true, true, false]);
      assert.equal(proxy.error?.reason, 'HostUnreachable');
      assert.match(text, /^proxy\s+yes\s+yes\s+no\s+unknown\s+-\s+HostUnreachable: cannot reach/m);
      await planShowsUnreachable('proxy', /cannot reach/);
      const info = assertConforms('info', (await cli('info', '--json')).stdout) as InfoOutput;
      assert.equal(info.machines.find((m) => m.machine === 'proxy')?.state, 'unreachable');
    } finally {
      await hosts.proxy!.restart();
    }
    // The restart was a boot that left /run empty: a deploy activates the proxy's system again.
    assert.equal((await cli('deploy')).code, 0);
    await check(0);
  });

  it('refuses a wrong declared host key: unreachable with both fingerprints, exit 4', async () => {
    const other = await makeClientKey(); // any other valid ed25519 key
    try {
      // GIVEN backend1 declared with a key its host does not have, deployed: every other machine's known hosts
      // now carry that key, so only backend1 is left out of sync
      await physical((m) => (m === 'backend1' ? other.publicKey : hosts[m]!.hostKey));
      const deploy = await cli('deploy', '--json');
      assert.equal(deploy.code, 1, deploy.stdout + deploy.stderr);
      const report = assertConforms('deploy', deploy.stdout) as DeployOutput;
      assert.equal(report.machines.backend1?.error?.reason, 'HostKeyMismatch');
      assert.equal(report.machines.proxy?.outcome, 'activated');
      const { text, out } = await check(4);
      const b1 = out.machines.find((m) => m.machine === 'backend1')!;
      assert.equal(b1.reachable, false);
      assert.equal(b1.error?.reason, 'HostKeyMismatch');
      assert.equal(new Set(b1.error!.message.match(FINGERPRINT)).size, 2, b1.error!.message);
      assert.match(
        text,
        /^backend1\s+yes\s+yes\s+no\s+unknown\s+-\s+HostKeyMismatch: host key of .* changed/m,
      );
      assert.doesNotMatch(text, /^backend1.*in sync/m);
      await planShowsUnreachable('backend1', /host key of .* changed: pinned ssh-ed25519 SHA256:/);
    } finally {
      await other.cleanup();
      await physical();
    }
    assert.equal((await cli('deploy')).code, 0);
    await check(0);
  });

  it('refuses a host re-keyed after its key was pinned on first contact: unreachable, exit 4', async () => {
    const pinned = (await ws.state()).machines.backend2?.hostKey;
    assert.equal(pinned, hosts.backend2!.hostKey);
    // WHEN backend2 comes back with a new host key
    const keyFile = `${hosts.backend2!.dir}/sshd/host_key`;
    await hosts.backend2!.kill();
    await run('rm', ['-f', keyFile, `${keyFile}.pub`]);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
    await hosts.backend2!.restart();
    // THEN check and plan refuse it, naming the pinned and the presented fingerprints, and the pin stays
    const { text, out } = await check(4);
    const b2 = out.machines.find((m) => m.machine === 'backend2')!;
    assert.deepEqual([b2.reachable, b2.error?.reason], [false, 'HostKeyMismatch']);
    assert.equal(new Set(b2.error!.message.match(FINGERPRINT)).size, 2, b2.error!.message);
    assert.match(text, /^backend2\s+yes\s+yes\s+no\s+unknown\s+-\s+HostKeyMismatch/m);
    await planShowsUnreachable('backend2', /host key of .* changed/);
    const info = assertConforms('info', (await cli('info', '--json')).stdout) as InfoOutput;
    assert.equal(info.machines.find((m) => m.machine === 'backend2')?.state, 'unreachable');
    assert.equal((await ws.state()).machines.backend2?.hostKey, pinned);
  });
});
