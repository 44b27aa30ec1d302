// 410 Gone against a real API server: the controller's connection to the API server is cut, and while it is away a
// deployment's spec changes, another is deleted and a third is created, and etcd is compacted past the last
// resourceVersion the controller saw. When the connection comes back the resumed watch gets 410 Gone; the
// controller must re-list and act on all three changes. The apiserver runs without its watch cache, so that
// watches are served by etcd and a compaction expires old resourceVersions at once.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { Reason } from '../../../src/api/conditions.js';
import type { ReconcileRequest } from '../../../src/core/request.js';
import type { MachineResult } from '../../../src/apply/operations.js';
import type { ReconcileReport } from '../../../src/report/report.js';
import { startKube, type KubePeer } from '../../support/kube.js';
import { kubeEnvOf, startController, until, type ControllerUnderTest, type KubeEnv } from './harness.js';

interface Obj {
  metadata: { name: string; generation: number; resourceVersion: string; deletionTimestamp?: string };
  status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] };
}

const nixd = (name: string, description: string) =>
  stringify({
    apiVersion: 'reconix.dev/v1alpha1',
    kind: 'NixDeployment',
    metadata: { name, namespace: 'default' },
    // A resync an hour away: whatever the controller does in this test, an event or a list made it do.
    spec: {
      network: { inline: { 'network.nix': `{ network.description = "${description}"; }` } },
      interval: '1h',
    },
  });

const okReport = (req: ReconcileRequest): ReconcileReport => ({
  deployment: req.name,
  op: 'deploy',
  ok: true,
  reason: Reason.ReconciliationSucceeded,
  message: 'no machines',
  plan: { machines: [], actions: [] },
  machines: {},
  startedAt: new Date().toISOString(),
  durationMs: 0,
});

/** A TCP relay to the API server that can be cut (every connection reset, new ones refused) and restored. */
interface Link {
  port: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

async function startLink(targetPort: number): Promise<Link> {
  const sockets = new Set<Socket>();
  let open = true;
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {}); // a reset is what cut() is for
  };
  const server = createServer((client) => {
    if (!open) return void client.resetAndDestroy();
    const upstream = connect(targetPort, '127.0.0.1');
    track(client);
    track(upstream);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const cut = () => {
    open = false;
    for (const s of sockets) s.resetAndDestroy();
  };
  return {
    port: (server.address() as AddressInfo).port,
    cut,
    restore: () => void (open = true),
    close: async () => {
      cut();
      await new Promise((r) => server.close(r));
    },
  };
}

/** The first event of a watch of NixDeployments from `resourceVersion`, straight to the API server. */
async function firstWatchEvent(
  kube: KubePeer,
  resourceVersion: string,
): Promise<{ type: string; object: { code?: number } }> {
  const ca = await readFile(kube.caCertPath);
  const url =
    `${kube.server}/apis/reconix.dev/v1alpha1/namespaces/default/nixdeployments` +
    `?watch=true&resourceVersion=${resourceVersion}`;
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, headers: { Authorization: `Bearer ${kube.token}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        text += d;
        const nl = text.indexOf('\n');
        if (nl < 0) return;
        req.destroy();
        resolve(JSON.parse(text.slice(0, nl)) as { type: string; object: { code?: number } });
      });
      res.on('end', () =>
        reject(new Error(`watch ended without an event (HTTP ${res.statusCode}): ${text}`)),
      );
    });
    req.setTimeout(15_000, () => req.destroy(new Error('no watch event within 15 s')));
    req.on('error', reject);
  });
}

/** etcd's current revision, and a compaction up to it, through its JSON gateway. */
async function compactEtcd(etcdUrl: string): Promise<number> {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${etcdUrl}${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`etcd ${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as { header: { revision: string } };
  };
  const { header } = await post('/v3/kv/range', { key: Buffer.from('/').toString('base64') });
  await post('/v3/kv/compaction', { revision: header.revision, physical: true });
  return Number(header.revision);
}

describe('re-list on 410 Gone (real kube-apiserver without watch cache)', function () {
  this.timeout(300_000);
  let kube: KubePeer;
  let link: Link;
  let env: KubeEnv;
  let ctl: ControllerUnderTest;
  const destroyed: string[] = [];

  before(async () => {
    kube = await startKube({ extraApiServerArgs: ['--watch-cache=false'] });
    link = await startLink(Number(new URL(kube.server).port));
    // The controller reaches the API server through the link; kubectl and the checks below go direct.
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [
        {
          name: 'linked',
          server: `https://127.0.0.1:${link.port}`,
          caFile: kube.caCertPath,
          skipTLSVerify: false,
        },
      ],
      users: [{ name: 'admin', token: kube.token }],
      contexts: [{ name: 'linked', cluster: 'linked', user: 'admin' }],
      currentContext: 'linked',
    });
    env = await kubeEnvOf(kube, kubeConfig);
    ctl = await startController(env, {
      reconcile: async (req) => okReport(req),
      destroy: async (req): Promise<MachineResult<string>[]> => {
        destroyed.push(req.name);
        return [];
      },
    });
  });

  after(async () => {
    await ctl?.cleanup();
    await link?.close();
    await kube?.stop();
  });

  const get = (name: string) => env.getJson<Obj>('nixdeployment', name);
  const ready = (o: Obj | undefined, generation: number) =>
    o?.status?.observedGeneration === generation &&
    o.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  const startedAt = (name: string, generation: number) =>
    ctl.starts.find((s) => s.id === `default.${name}` && s.generation === generation);

  it('re-lists after 410 Gone and acts on every change made while its watch was away', async () => {
    await env.kubectl(['apply', '-f', '-'], nixd('kept', 'one'));
    await env.kubectl(['apply', '-f', '-'], nixd('gone', 'one'));
    // Both reconciled, and the controller's cache holds exactly what the API server holds: its watch is current.
    let lastSeen = 0;
    await until('kept and gone Ready, and the cache current', async () => {
      let rv = 0;
      for (const name of ['kept', 'gone']) {
        const o = await get(name);
        if (!ready(o, 1)) return false;
        if (
          ctl.running.controller.get('default', name)?.metadata.resourceVersion !==
          o?.metadata.resourceVersion
        )
          return false;
        rv = Math.max(rv, Number(o?.metadata.resourceVersion));
      }
      lastSeen = rv;
      return true;
    });
    assert.equal(ctl.running.controller.relists, 0);

    // Cut the controller off, and wait until its watch has noticed.
    const restarts = ctl.running.controller.watchRestarts;
    link.cut();
    await until('the watch to fail', async () => ctl.running.controller.watchRestarts > restarts, 60_000, 50);

    // Meanwhile: a new spec, a deletion (held by the finalizer), a new object; then history is compacted away.
    await env.kubectl(['apply', '-f', '-'], nixd('kept', 'two'));
    await env.kubectl(['delete', 'nixd', 'gone', '--wait=false']);
    await env.kubectl(['apply', '-f', '-'], nixd('born', 'one'));
    const compactedAt = await compactEtcd(kube.etcdUrl);
    assert.ok(compactedAt > lastSeen + 1, `compacted at ${compactedAt}, last seen ${lastSeen}`);
    // The premise: a watch from where the controller stopped is now answered with 410 Gone.
    const answer = await firstWatchEvent(kube, String(lastSeen));
    assert.equal(answer.type, 'ERROR');
    assert.equal(answer.object.code, 410);
    assert.equal(startedAt('kept', 2), undefined);
    assert.equal(startedAt('born', 1), undefined);

    const restoredAt = Date.now();
    link.restore();
    await until('a re-list', async () => ctl.running.controller.relists > 0, 120_000, 50);
    await until('kept Ready at generation 2', async () => ready(await get('kept'), 2), 60_000);
    await until('born Ready', async () => ready(await get('born'), 1), 60_000);
    await until('gone destroyed and deleted', async () => (await get('gone')) === undefined, 60_000);

    assert.ok(
      (startedAt('kept', 2)?.at ?? 0) >= restoredAt,
      'kept generation 2 reconciled after the link came back',
    );
    assert.ok((startedAt('born', 1)?.at ?? 0) >= restoredAt, 'born reconciled after the link came back');
    assert.deepEqual(destroyed, ['default.gone']);
    assert.ok(
      ctl.log.lines.some((l) => l.includes('re-listed NixDeployments')),
      'the re-list is logged',
    );
    // Every change reconciled, and nothing the changes did not ask for.
    assert.deepEqual([...new Set(ctl.starts.map((s) => `${s.id}@${s.generation}`))].sort(), [
      'default.born@1',
      'default.gone@1',
      'default.kept@1',
      'default.kept@2',
    ]);
  });
});
