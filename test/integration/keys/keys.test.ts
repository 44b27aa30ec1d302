// Keys on real local hosts: delivered with their owner and mode, in place before the activation (pre) or after it
// (post), re-delivered when missing or edited without re-activating, removed when undeclared, and never visible.
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckOutput } from '../../../src/api/output.js';
import { run, runProcess } from '../../../src/util/exec.js';
import { canary, filesContaining, storePathsSince, timeMarker } from '../../support/canary.js';
import { reconix, type CliRun } from '../../support/cli.js';
import { assertConforms } from '../../support/schemas.js';
import { makeWorkspace, type Workspace } from '../../support/workspace.js';

const TEXT = canary('text');
const FILE = canary('file');
const COMMAND = canary('command');
const SECRETS = [TEXT, FILE, COMMAND];

/** backend1's keys: one of each source; an activation script records which keys it saw. */
const keysNix = (dir: string, extra = '') => `{
  backend1 = {
    deployment.keys.t = { text = "${TEXT}"; user = "nobody"; group = "nogroup"; permissions = "0440"; };
    deployment.keys.f.keyFile = "${dir}/secret-file";
    deployment.keys.c = { keyCommand = [ "cat" "${dir}/secret-for-command" ]; uploadAt = "post-activation"; };
    ${extra}
    system.activationScripts.keycheck = ''
      mkdir -p /nix/var/reconix
      for k in t f c; do
        if [ -f /run/keys/$k ]; then echo "$k present"; else echo "$k absent"; fi
      done > /nix/var/reconix/keycheck
    '';
  };
}`;

describe('deployment keys on local hosts', function () {
  this.timeout(240_000);
  let ws: Workspace;
  let marker: string;
  const runs: CliRun[] = [];
  const cli = async (...args: string[]): Promise<CliRun> => {
    const r = await reconix(['-f', join(ws.dir, 'keys.yaml'), '--state-dir', ws.stateDir, '-v', ...args]);
    runs.push(r);
    return r;
  };
  const host = async (m: string) =>
    (await ws.state('apache-keys')).machines[m]!.target as { pid: number; dir: string };
  const onHost = async (m: string, script: string) => {
    const { pid } = await host(m);
    return runProcess('nsenter', ['--mount', '--target', String(pid), '--', 'sh', '-c', script]);
  };
  /** owner:group mode content of a key file on backend1. */
  const keyFile = async (name: string) =>
    (await onHost('backend1', `stat -c '%U:%G %a' /run/keys/${name} && cat /run/keys/${name}`)).stdout;

  before(async () => {
    marker = await timeMarker();
    ws = await makeWorkspace('apache');
    await writeFile(join(ws.dir, 'secret-file'), FILE, { mode: 0o600 });
    await writeFile(join(ws.dir, 'secret-for-command'), COMMAND, { mode: 0o600 });
    await ws.write('keys.nix', keysNix(ws.dir));
    const manifest = (await ws.read('local.yaml'))
      .replace('name: apache-local', 'name: apache-keys')
      .replace('[network.nix, physical-local.nix]', '[network.nix, physical-local.nix, keys.nix]');
    await ws.write('keys.yaml', manifest);
  });
  after(async () => {
    if (ws) await reconix(['-f', join(ws.dir, 'keys.yaml'), '--state-dir', ws.stateDir, 'destroy']);
    await ws?.dispose();
    await rm(marker, { force: true });
  });

  it('delivers text, keyFile and keyCommand keys with their owner and mode, pre-activation ones before the switch', async () => {
    const r = await cli('deploy');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(await keyFile('t'), `nobody:nogroup 440\n${TEXT}`);
    assert.equal(await keyFile('f'), `root:root 600\n${FILE}`);
    assert.equal(await keyFile('c'), `root:root 600\n${COMMAND}`);
    assert.equal((await onHost('backend1', 'stat -c %a /run/keys')).stdout.trim(), '750');
    // The activation saw the pre-activation keys and not yet the post-activation one.
    const seen = (await onHost('backend1', 'cat /nix/var/reconix/keycheck')).stdout;
    assert.equal(seen, 't present\nf present\nc absent\n');
    assert.equal((await onHost('backend1', 'test -f /run/keys/done && echo yes')).stdout.trim(), 'yes');
    // The example's own key, for the proxy.
    assert.match((await onHost('proxy', 'stat -c %a /run/keys/htpasswd')).stdout, /^640$/m);
  });

  it('records names and keyed digests in the state, and makes the HMAC secret 0600', async () => {
    const rec = (await ws.state('apache-keys')).machines.backend1!.keys!;
    assert.deepEqual(Object.keys(rec).sort(), ['c', 'f', 't']);
    for (const k of Object.values(rec)) {
      assert.equal(k.destDir, '/run/keys');
      assert.match(k.hmac ?? '', /^[0-9a-f]{64}$/);
    }
    const mode = (await run('stat', ['-c', '%a', join(ws.stateDir, 'secrets', 'apache-keys.keys-hmac')]))
      .stdout;
    assert.equal(mode.trim(), '600');
  });

  it('gives the machine its keys through reconix-wait-for-keys', async () => {
    const system = (await ws.state('apache-keys')).machines.backend1!.activated!.system;
    const ok = await onHost(
      'backend1',
      `${system}/bin/reconix-wait-for-keys -t 5 t f c && ${system}/bin/reconix-wait-for-keys -t 5`,
    );
    assert.equal(ok.exitCode, 0, ok.stderr);
    const missing = await onHost('backend1', `${system}/bin/reconix-wait-for-keys -t 1 nothere`);
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stderr, /\/run\/keys\/nothere is not there after 1s/);
  });

  /** check --json of the keys deployment, validated against its schema. */
  async function check(): Promise<{ code: number | null; out: CheckOutput }> {
    const r = await cli('check', '--json');
    return { code: r.code, out: assertConforms('check', r.stdout) as CheckOutput };
  }

  it('re-delivers a key removed or edited by hand without activating again, and check says so with bit 32', async () => {
    const before = await ws.activations('backend1', 'apache-keys');
    await onHost('backend1', 'rm /run/keys/t && chmod 0644 /run/keys/f && echo edited > /run/keys/c');
    const { code, out } = await check();
    assert.equal(code, 32);
    assert.deepEqual(out.machines.find((m) => m.machine === 'backend1')?.keysMissing, ['c', 'f', 't']);
    const plan = await cli('plan');
    assert.equal(plan.code, 1);
    assert.match(plan.stdout, /send keys f t \(pre-activation\), send keys c \(post-activation\)/);
    const r = await cli('deploy');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(await keyFile('t'), `nobody:nogroup 440\n${TEXT}`);
    assert.equal(await keyFile('f'), `root:root 600\n${FILE}`);
    assert.equal(await keyFile('c'), `root:root 600\n${COMMAND}`);
    assert.deepEqual(await ws.activations('backend1', 'apache-keys'), before);
    assert.equal((await check()).code, 0);
  });

  it('re-delivers every key after a reboot, without activating the system again', async () => {
    // Killing sshd is a reboot: /run (the keys) is gone and the host boots into its system profile; the next
    // deploy starts the host again and writes the keys back, and nothing else.
    const before = await ws.activations('backend1', 'apache-keys');
    process.kill((await host('backend1')).pid, 'SIGKILL');
    const r = await cli('deploy');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(await keyFile('t'), `nobody:nogroup 440\n${TEXT}`);
    assert.equal(await keyFile('f'), `root:root 600\n${FILE}`);
    assert.equal(await keyFile('c'), `root:root 600\n${COMMAND}`);
    assert.equal((await onHost('backend1', 'test -e /run/keys/done && echo done')).stdout.trim(), 'done');
    assert.deepEqual(await ws.activations('backend1', 'apache-keys'), before);
    assert.equal((await check()).code, 0);
  });

  it('removes a key that is no longer declared', async () => {
    await ws.write('keys.nix', keysNix(ws.dir).replace(/deployment\.keys\.f\.keyFile = .*\n/, ''));
    const r = await cli('deploy');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((await onHost('backend1', 'test -e /run/keys/f || echo gone')).stdout.trim(), 'gone');
    assert.deepEqual(Object.keys((await ws.state('apache-keys')).machines.backend1!.keys!).sort(), [
      'c',
      't',
    ]);
    await ws.write('keys.nix', keysNix(ws.dir));
    assert.equal((await cli('deploy')).code, 0);
  });

  it('sends the keys again on reconix send-keys, only to the selected machines', async () => {
    await onHost('backend1', 'rm -r /run/keys');
    await onHost('proxy', 'rm /run/keys/htpasswd');
    const r = await cli('send-keys', '--include', 'backend1');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /backend1: sent c f t/);
    assert.equal(await keyFile('t'), `nobody:nogroup 440\n${TEXT}`);
    assert.equal((await onHost('proxy', 'test -e /run/keys/htpasswd || echo gone')).stdout.trim(), 'gone');
    assert.equal((await cli('send-keys')).code, 0);
    assert.match((await onHost('proxy', 'stat -c %a /run/keys/htpasswd')).stdout, /^640$/m);
  });

  it('fails only the machine whose keyCommand fails or keyFile is unreadable, naming the key and not the output', async () => {
    const leak = canary('stderr');
    SECRETS.push(leak);
    await ws.write(
      'keys.nix',
      keysNix(ws.dir).replace(
        '  backend1 = {',
        `  backend2.deployment.keys.bad = { keyCommand = [ "sh" "-c" "echo ${leak} >&2; exit 3" ]; };\n` +
          `  proxy.deployment.keys.unreadable.keyFile = "${ws.dir}/no-such-file";\n  backend1 = {`,
      ),
    );
    const r = await cli('deploy');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /backend2: key "bad": keyCommand "sh" exited with code 3/);
    assert.match(r.stdout, /proxy: key "unreadable": cannot read keyFile .*no-such-file \(ENOENT\)/);
    assert.match(r.stdout, /KeyUnavailable \(2\): backend2, proxy/);
    await ws.write('keys.nix', keysNix(ws.dir));
  });

  it('never shows a key in output, logs, state, metrics or any Nix store, only in its file on the host', async () => {
    const outputs = runs.map((r) => r.stdout + r.stderr).join('\n');
    const state = await ws.state('apache-keys');
    const metrics = await metricsText(await ws.run('check', { manifest: 'keys.yaml' }));
    const hostStores = await Promise.all(
      ['backend1', 'backend2', 'proxy'].map(async (m) => join((await host(m)).dir, 'nix/store')),
    );
    const localStore = await storePathsSince(marker);
    assert.ok(
      localStore.some((p) => p.endsWith('.drv')),
      'the search covers the derivations of this test',
    );
    for (const secret of SECRETS) {
      assert.ok(!outputs.includes(secret), 'CLI output');
      assert.ok(!metrics.includes(secret), '/metrics');
      assert.deepEqual(await filesContaining(secret, [ws.stateDir]), [], 'state dir');
      assert.deepEqual(await filesContaining(secret, localStore), [], 'local store');
      assert.deepEqual(await filesContaining(secret, hostStores), [], 'host stores');
    }
    assert.ok(!JSON.stringify(state).includes(TEXT));
    assert.match(metrics, /reconix_machine_keys_missing\{deployment="apache-keys",machine="backend1"\} 0/);
    // ... and the keys are where they belong.
    assert.equal(await keyFile('t'), `nobody:nogroup 440\n${TEXT}`);
  });
});

/** What a controller's /metrics serves after recording a report. */
async function metricsText(
  report: Parameters<import('../../../src/metrics/metrics.js').ReconixMetrics['record']>[0],
) {
  const { ReconixMetrics } = await import('../../../src/metrics/metrics.js');
  const { serveMetrics } = await import('../../../src/metrics/server.js');
  const metrics = new ReconixMetrics({ processMetrics: false });
  metrics.record(report);
  const server = await serveMetrics('127.0.0.1:0', metrics.registry, { live: () => true, ready: () => true });
  try {
    return await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
  } finally {
    await server.close();
  }
}
