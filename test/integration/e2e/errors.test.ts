// Bad input fails cleanly and changes nothing; nothing from a spec reaches a shell; first-use key pinning.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Reason } from '../../../src/api/conditions.js';
import { run } from '../../../src/util/exec.js';
import { reconix } from '../../support/cli.js';
import { createTestHost, type TestHost } from '../../support/hosts.js';
import { makeWorkspace, type Workspace } from '../../support/workspace.js';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('bad network files', function () {
  this.timeout(120_000);
  let ws: Workspace;
  let good: string;

  before(async () => {
    ws = await makeWorkspace('apache');
    good = await ws.read('network.nix');
    const first = await ws.run('deploy');
    assert.equal(first.ok, true, first.message);
  });
  after(async () => {
    await ws?.dispose();
  });

  async function expectCleanFailure(text: string, pattern: RegExp): Promise<void> {
    const stateBefore = JSON.stringify((await ws.state()).machines);
    const logsBefore = await Promise.all(['proxy', 'backend1', 'backend2'].map((m) => ws.activations(m)));
    await ws.write('network.nix', text);
    try {
      for (const op of ['plan', 'deploy'] as const) {
        const report = await ws.run(op);
        assert.equal(report.ok, false);
        assert.equal(report.reason, Reason.EvaluationFailed);
        assert.match(report.message, pattern);
        assert.ok(!report.message.includes('\u001b['), 'no terminal colour codes');
      }
      assert.equal(JSON.stringify((await ws.state()).machines), stateBefore);
      assert.deepEqual(
        await Promise.all(['proxy', 'backend1', 'backend2'].map((m) => ws.activations(m))),
        logsBefore,
      );
      const state = await ws.state();
      assert.equal(state.status?.reason, Reason.EvaluationFailed);
    } finally {
      await ws.write('network.nix', good);
    }
  }

  it('reports a Nix syntax error with its file and line, and changes nothing', async () => {
    await expectCleanFailure(
      good.replace('backend2 = backend "backend2";', 'backend2 = backend "backend2"'),
      /network\.nix:\d+/,
    );
  });

  it('reports an unknown option by name and file, in the report and in the CLI output, and changes nothing', async () => {
    const bad = good.replace(
      'backend1 = backend "backend1";',
      'backend1 = { imports = [ (backend "backend1") ]; services.nosuch.enable = true; networking.nosuch = 1; };',
    );
    const file = join(ws.dir, 'network.nix');
    const nixos = new RegExp(
      `The option \`networking\\.nosuch' does not exist\\. Definition values:\n\\s*- In \`${escape(file)}'`,
    );
    await expectCleanFailure(bad, nixos);
    await ws.write('network.nix', bad);
    try {
      const cli = (...args: string[]) =>
        reconix(['--state-dir', ws.stateDir, '-f', join(ws.dir, 'local.yaml'), ...args]);
      const plan = await cli('plan');
      assert.equal(plan.code, 2, plan.stdout + plan.stderr);
      assert.match(plan.stdout + plan.stderr, nixos);
      const json = await cli('deploy', '--json');
      // The report is the last line, after the progress events.
      const report = JSON.parse(json.stdout.trim().split('\n').at(-1)!) as {
        reason: string;
        message: string;
      };
      assert.equal(report.reason, Reason.EvaluationFailed);
      assert.match(report.message, nixos);
    } finally {
      await ws.write('network.nix', good);
    }
  });
});

describe('shell metacharacters in machine names and args', function () {
  this.timeout(120_000);
  let ws: Workspace;
  const marker = `/tmp/reconix-pwned-${process.pid}`;

  after(async () => {
    await ws?.dispose();
    await run('rm', ['-f', `${marker}-name`, `${marker}-arg`]);
  });

  it('deploys them verbatim and never runs them', async () => {
    ws = await makeWorkspace('trivial');
    const evil = `web;touch ${marker}-name`;
    await ws.write(
      'network.nix',
      `{ domain ? "x", ... }: {
  network.description = "metacharacters";
  "${evil}" = { environment.etc.domain.text = domain; };
}
`,
    );
    await ws.write('physical-local.nix', `{ "${evil}" = { deployment.targetEnv = "local"; }; }\n`);
    const arg = `$(touch ${marker}-arg)'"; \`touch ${marker}-arg\``;
    await ws.write(
      'local.yaml',
      `apiVersion: reconix.dev/v1alpha1
kind: NixDeployment
metadata: { name: metachars }
spec:
  network:
    files: [network.nix, physical-local.nix]
    args: { domain: ${JSON.stringify(arg)} }
`,
    );
    const report = await ws.run('deploy');
    assert.equal(report.ok, true, report.message);
    const m = report.machines[evil];
    assert.equal(m?.outcome, 'activated');
    const { readFile } = await import('node:fs/promises');
    const domain = await readFile(`${m!.system}/etc/domain`, 'utf8');
    assert.equal(domain, arg);
    assert.equal(existsSync(`${marker}-name`), false);
    assert.equal(existsSync(`${marker}-arg`), false);
  });
});

describe('first-use pinning of an existing host', function () {
  this.timeout(120_000);
  let ws: Workspace;
  let host: TestHost;

  before(async () => {
    ws = await makeWorkspace('trivial');
    host = await createTestHost({ clientPublicKey: ws.deps.clientKey.publicKey });
  });
  after(async () => {
    await ws?.dispose();
    await host?.destroy();
  });

  it('pins the key seen first and refuses a changed one', async () => {
    const phys = await ws.read('physical-none.nix');
    await ws.write(
      'physical-none.nix',
      phys.replace(/targetHost = "[^"]*"/, `targetHost = "${host.address}"`),
    );
    const first = await ws.run('deploy', { manifest: 'none.yaml' });
    assert.equal(first.ok, true, first.message);
    const name = Object.keys(first.machines)[0]!;
    assert.equal((await ws.state((await ws.load('none.yaml')).name)).machines[name]!.hostKey, host.hostKey);
    // WHEN the host comes back with another key
    const keyFile = `${host.dir}/sshd/host_key`;
    await host.kill();
    await run('rm', ['-f', keyFile, `${keyFile}.pub`]);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
    await host.restart();
    const second = await ws.run('deploy', { manifest: 'none.yaml' });
    assert.equal(second.machines[name]!.error?.reason, Reason.HostKeyMismatch);
    assert.equal((await host.readActivations()).length, 1);
  });
});

describe('a deploy in which some machines are unreachable', function () {
  this.timeout(180_000);
  let ws: Workspace;
  const hosts: Record<string, TestHost> = {};

  before(async () => {
    ws = await makeWorkspace('trivial', 'none.yaml');
    for (const m of ['up', 'down1', 'down2'])
      hosts[m] = await createTestHost({ clientPublicKey: ws.deps.clientKey.publicKey });
    // GIVEN two of three existing hosts whose sshd is gone
    await hosts.down1!.kill();
    await hosts.down2!.kill();
    const machine = (m: string) =>
      `${m} = { deployment.targetEnv = "none"; deployment.targetHost = "${hosts[m]!.address}"; };`;
    await ws.write('physical-none.nix', `{\n${Object.keys(hosts).map(machine).join('\n')}\n}\n`);
    const logical = (m: string) => `${m} = { system.stateVersion = "24.05"; };`;
    await ws.write('network.nix', `{\n${Object.keys(hosts).map(logical).join('\n')}\n}\n`);
  });
  after(async () => {
    await ws?.dispose();
    for (const h of Object.values(hosts)) await h.destroy();
  });

  it("prints each machine's error exactly once, and a summary by reason; --json keeps every error", async () => {
    const cli = (...args: string[]) =>
      reconix(['--state-dir', ws.stateDir, '-f', join(ws.dir, 'none.yaml'), 'deploy', ...args]);
    const json = await cli('--json');
    assert.equal(json.code, 1, json.stdout + json.stderr);
    const report = JSON.parse(json.stdout.trim().split('\n').at(-1)!) as {
      message: string;
      machines: Record<string, { outcome: string; error?: { reason: string; message: string } }>;
    };
    assert.equal(report.machines.up?.outcome, 'activated');
    const errors = ['down1', 'down2'].map((m) => report.machines[m]?.error);
    for (const e of errors) assert.equal(e?.reason, Reason.HostUnreachable);
    assert.equal(report.message, '2 of 3 machines failed: HostUnreachable (2): down1, down2');
    // WHEN the same deploy prints for people
    const human = await cli();
    assert.equal(human.code, 1, human.stdout + human.stderr);
    const out = human.stdout + human.stderr;
    // THEN each error is there once, on its machine's line, and the last line sums them up
    for (const [i, e] of errors.entries()) {
      assert.ok(e!.message.length > 0);
      assert.equal(out.split(e!.message).length - 1, 1, `${['down1', 'down2'][i]}'s error once in:\n${out}`);
    }
    assert.match(
      out,
      /Failed \(HostUnreachable\) after [\d.]+s: 2 of 3 machines failed: HostUnreachable \(2\): down1, down2\n?$/,
    );
  });
});
