// A leader cut off from the API server (a partition: its requests hang) stops its rollout before its Lease can
// expire, and the replica that takes over acts only after: from the replicas' own "machine activating" lines and
// the hosts' record of each activation, no activation of the old leader starts after the new leader's first, and
// no two activations ever overlap.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createTestHost, makeClientKey, type ClientKey, type TestHost } from '../../support/hosts.js';
import { MOTO_ENV } from '../../support/moto.js';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.js';
import { sshKeySecret, startKubeEnv, until, type KubeEnv } from './harness.js';
import { logged, startReplica, type Replica } from './replicas.js';

const MACHINES = ['m1', 'm2', 'm3', 'm4', 'm5'];
const LEASE = ['--lease-duration', '6', '--renew-deadline', '4', '--retry-period', '1'];
const RENEW_DEADLINE_MS = 4000;
const ACTIVATION_S = 6;
// The test entry wants AWS credentials; this network has no EC2 machine, so none is ever used.
const ENV = MOTO_ENV;

const network = (hosts: Record<string, TestHost>) =>
  `{\n  network.description = "slow rollout";\n` +
  MACHINES.map(
    (m) =>
      `  ${m} = { deployment.targetEnv = "none"; deployment.targetHost = "${hosts[m]!.address}"; ` +
      `deployment.hostPublicKey = "${hosts[m]!.hostKey}"; system.activationScripts.slow = ` +
      `"mkdir -p /nix/var/reconix; echo start $(date +%s%3N) >> /nix/var/reconix/slow.log; ` +
      `sleep ${ACTIVATION_S}; echo end $(date +%s%3N) >> /nix/var/reconix/slow.log"; };\n`,
  ).join('') +
  '}';

/** Each activation a host ran, from its own clock: [start, end] in ms. */
async function hostIntervals(h: TestHost): Promise<[number, number][]> {
  const text = await readFile(join(h.dir, 'nix/var/reconix/slow.log'), 'utf8').catch(() => '');
  const out: [number, number][] = [];
  for (const line of text.split('\n').filter(Boolean)) {
    const [what, at] = line.split(' ');
    if (what === 'start') out.push([Number(at), Infinity]);
    else if (what === 'end' && out.length > 0) out[out.length - 1]![1] = Number(at);
  }
  return out;
}

const activating = (r: Replica) =>
  logged(r, 'machine activating').map((l) => ({ machine: String(l.machine), at: Date.parse(String(l.ts)) }));

describe('a leader that loses its Lease stops acting before another replica starts (real kube-apiserver)', function () {
  this.timeout(600_000);
  let env: KubeEnv;
  let key: ClientKey;
  let proxy: TcpProxy;
  let dir: string;
  const hosts: Record<string, TestHost> = {};
  const replicas: Replica[] = [];

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startKubeEnv();
    key = await makeClientKey();
    for (const m of MACHINES) hosts[m] = await createTestHost({ clientPublicKey: key.publicKey });
    await sshKeySecret(env, 'default', 'ssh', key.privateKey);
    // The first replica reaches the API server only through a relay the test can cut.
    proxy = await startTcpProxy(Number(new URL(env.kube.server).port));
    dir = await mkdtemp(join(tmpdir(), 'reconix-lease-lost-'));
    const direct = await readFile(env.kube.kubeconfigPath, 'utf8');
    await writeFile(
      join(dir, 'kubeconfig'),
      direct.replace(env.kube.server, `https://127.0.0.1:${proxy.port}`),
      { mode: 0o600 },
    );
  });

  after(async () => {
    for (const r of replicas) await r.stop();
    await proxy?.close();
    for (const h of Object.values(hosts)) await h.destroy();
    await key?.cleanup();
    await env?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('cancels the rollout in flight when renewals stop getting through', async () => {
    const a = await startReplica('a', { kubeconfig: join(dir, 'kubeconfig'), extraArgs: LEASE, env: ENV });
    replicas.push(a);
    await until('a to lead', async () => a.leads(), 60_000).catch((err: Error) => {
      throw new Error(`${err.message}; a said: ${a.lines.slice(-5).join('\n')}`);
    });
    const b = await startReplica('b', { kubeconfig: env.kube.kubeconfigPath, extraArgs: LEASE, env: ENV });
    replicas.push(b);
    await until('b to start', async () => b.lines.some((l) => l.includes('"controller started"')), 60_000);

    await env.kubectl(
      ['apply', '-f', '-'],
      stringify({
        apiVersion: 'reconix.dev/v1alpha1',
        kind: 'NixDeployment',
        metadata: { name: 'slow', namespace: 'default' },
        spec: {
          network: { inline: { 'network.nix': network(hosts) } },
          builder: 'mini',
          interval: '1h',
          retryInterval: '2s',
          rollout: { maxParallel: 1 },
          sshKeySecretRef: { name: 'ssh', key: 'id_ed25519' },
        },
      }),
    );
    // WHEN the partition comes while a's first activation runs
    await until('a to start activating', async () => activating(a).length > 0, 240_000, 100);
    const cut = Date.now();
    proxy.cut();

    // THEN b takes over and finishes the rollout on every machine
    await until('b to lead', async () => b.leads(), 60_000);
    await until(
      'every machine activated once to the end',
      async () => {
        for (const m of MACHINES) {
          const runs = await hostIntervals(hosts[m]!);
          if (!runs.some(([, end]) => end !== Infinity)) return false;
        }
        return true;
      },
      300_000,
      500,
    );

    const byA = activating(a);
    const byB = activating(b);
    const lost = logged(a, 'lost the leader lease: could not renew it in time').map((l) =>
      Date.parse(String(l.ts)),
    );
    assert.equal(lost.length, 1, `a said it lost the lease; a said:\n${a.lines.slice(-30).join('\n')}`);
    assert.ok(lost[0]! - cut <= RENEW_DEADLINE_MS + 1000, `a noticed ${lost[0]! - cut} ms after the cut`);
    assert.ok(byA.length < MACHINES.length, 'a was cut off mid-rollout');
    assert.ok(byB.length > 0, 'b carried on');
    const lastOfA = Math.max(...byA.map((x) => x.at));
    const firstOfB = Math.min(...byB.map((x) => x.at));
    assert.ok(lastOfA <= lost[0]!, `a started an activation ${lastOfA - lost[0]!} ms after losing the lease`);
    assert.ok(lastOfA < firstOfB, 'an activation of the old leader started after the new leader began');

    // The hosts agree: every activation they ran was one a replica announced, and none overlapped another.
    const runs = (await Promise.all(MACHINES.map((m) => hostIntervals(hosts[m]!)))).flat();
    assert.equal(runs.length, byA.length + byB.length, JSON.stringify({ runs, byA, byB }));
    runs.sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < runs.length; i++) {
      assert.ok(runs[i]![0] >= runs[i - 1]![1], `activations overlap: ${JSON.stringify(runs)}`);
    }
  });
});
