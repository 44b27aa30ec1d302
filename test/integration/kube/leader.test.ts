// Two `reconix controller --kube` processes against one API server: one leads and acts, the other waits; when the
// leader dies, the other takes the Lease within its duration and acts.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { repoRoot, startKubeEnv, until, type KubeEnv } from './harness.js';

interface Replica {
  name: string;
  proc: ChildProcess;
  stderr: string[];
  exited: Promise<void>;
}

const LEASE_SECONDS = 15;

describe('leader election between two controller processes (real kube-apiserver)', function () {
  this.timeout(240_000);
  let env: KubeEnv;
  let stateDir: string;
  const replicas: Replica[] = [];

  function startReplica(name: string): Replica {
    const main = join(repoRoot(), 'dist/src/cli/bin.js');
    const args = [main, '--state-dir', join(stateDir, name), 'controller', '--kube'];
    args.push('--kubeconfig', env.kube.kubeconfigPath, '--listen', '127.0.0.1:0');
    args.push('--leader-election-namespace', 'default', '--lease-duration', String(LEASE_SECONDS));
    const proc = spawn(process.execPath, args, {
      env: { ...process.env, POD_NAME: name },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const r: Replica = {
      name,
      proc,
      stderr: [],
      exited: new Promise((res) => proc.once('exit', () => res())),
    };
    proc.stderr
      ?.setEncoding('utf8')
      .on('data', (d: string) => r.stderr.push(...d.split('\n').filter(Boolean)));
    replicas.push(r);
    return r;
  }

  const holder = async () => {
    const lease = await env.getJson<{ spec: { holderIdentity?: string } }>('lease', 'reconix-controller');
    return lease?.spec.holderIdentity;
  };
  const leads = (r: Replica) => r.stderr.some((l) => l.includes('"became the leader"'));

  before(async () => {
    env = await startKubeEnv();
    stateDir = await mkdtemp(join(tmpdir(), 'reconix-kube-leader-'));
  });

  after(async () => {
    for (const r of replicas) {
      if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGTERM');
      const timer = setTimeout(() => r.proc.kill('SIGKILL'), 10_000);
      await r.exited;
      clearTimeout(timer);
    }
    await env?.cleanup();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('one replica acts; when it dies the other takes over within the lease duration', async () => {
    const a = startReplica('a');
    await until('replica a to lead', async () => (await holder())?.startsWith('a_'), 60_000);
    const b = startReplica('b');
    await until(
      'replica b to start',
      async () => b.stderr.some((l) => l.includes('"controller started"')),
      60_000,
    );

    const deployment = {
      apiVersion: 'reconix.dev/v1alpha1',
      kind: 'NixDeployment',
      metadata: { name: 'led' },
      spec: { network: { inline: { 'network.nix': '{ network.description = "empty"; }' } }, builder: 'mini' },
    };
    await env.kubectl(['apply', '-f', '-'], stringify(deployment));
    const ready = async (requested?: string) => {
      const o = await env.getJson<{
        status?: { lastHandledRequestedAt?: string; conditions?: { type: string; status: string }[] };
      }>('nixd', 'led');
      const isReady = o?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      return isReady && (!requested || o?.status?.lastHandledRequestedAt === requested);
    };
    await until('led Ready, reconciled by a', () => ready(), 120_000);
    assert.ok(leads(a));
    assert.ok(!leads(b), 'the standby does not act');

    // A power cut: no chance to hand the Lease over.
    a.proc.kill('SIGKILL');
    await a.exited;
    const died = Date.now();
    await until('replica b to lead', async () => (await holder())?.startsWith('b_'), 60_000, 100);
    const takeover = Date.now() - died;
    // The lease duration counts from the last renewal b saw; b looks every retry period (2 s, up to 20 % jitter),
    // so it can see that renewal up to 2.4 s late. It then takes over right when the lease runs out.
    assert.ok(takeover < (LEASE_SECONDS + 2.4 + 1) * 1000, `took over after ${takeover} ms`);
    assert.ok(takeover > (LEASE_SECONDS - 2) * 1000, `took over too early, after ${takeover} ms`);
    assert.ok(leads(b));

    await env.kubectl(['annotate', 'nixd/led', 'reconix.dev/requestedAt=after-failover']);
    await until('b to reconcile', () => ready('after-failover'), 60_000);
  });
});
