// The CRD and the controller's API machinery against a real API server, with the reconciler core replaced by a
// fake where Nix and hosts are beside the point: validation, finalizer, Secrets, the source root, the state lock.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { Reason } from '../../../src/api/conditions.js';
import { ReconixError } from '../../../src/core/errors.js';
import type { ReconcileRequest } from '../../../src/core/request.js';
import type { MachineResult } from '../../../src/apply/operations.js';
import type { ReconcileReport } from '../../../src/report/report.js';
import { KubeStateStore } from '../../../src/state/kube-store.js';
import {
  cond,
  startController,
  startKubeEnv,
  until,
  type Condition,
  type ControllerUnderTest,
  type KubeEnv,
} from './harness.js';

type Obj = {
  metadata: { finalizers?: string[]; generation: number };
  status?: {
    observedGeneration?: number;
    conditions?: Condition[];
  };
};
function nixd(name: string, spec: Record<string, unknown>): string {
  return stringify({ apiVersion: 'reconix.dev/v1alpha1', kind: 'NixDeployment', metadata: { name }, spec });
}

const okReport = (req: ReconcileRequest): ReconcileReport => ({
  deployment: req.name,
  op: 'deploy',
  ok: true,
  reason: Reason.ReconciliationSucceeded,
  message: '0 machines reconciled, 0 activated',
  plan: { machines: [], actions: [] },
  machines: {},
  startedAt: new Date().toISOString(),
  durationMs: 1,
  ...(req.revision ? { revision: req.revision } : {}),
});

describe('Kubernetes API machinery (real kube-apiserver)', function () {
  this.timeout(180_000);
  let env: KubeEnv;
  let ctl: ControllerUnderTest;
  let root: string;
  const requests: ReconcileRequest[] = [];
  let destroyFails = true;

  before(async () => {
    env = await startKubeEnv();
    root = await mkdtemp(join(tmpdir(), 'reconix-kube-src-'));
    ctl = await startController(env, {
      sourceRoot: join(root, 'current'),
      reconcile: async (req) => {
        requests.push(req);
        return okReport(req);
      },
      destroy: async (): Promise<MachineResult<string>[]> => {
        if (destroyFails)
          return [{ machine: 'web', ok: false, error: { reason: 'DestroyFailed', message: 'host busy' } }];
        return [{ machine: 'web', ok: true, value: 'local' }];
      },
    });
  });

  after(async () => {
    await ctl?.cleanup();
    await env?.cleanup();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const get = (name: string) => env.getJson<Obj>('nixdeployment', name);
  const rejected = async (yaml: string): Promise<string> => {
    const r = await env.kube.kubectl(['apply', '-f', '-'], yaml);
    assert.notEqual(r.code, 0, 'expected the API server to reject the object');
    return r.stderr;
  };

  it('rejects invalid objects with a message that names the field', async () => {
    const base = { network: { inline: { 'n.nix': '{}' } } };
    assert.match(
      await rejected(nixd('a', { ...base, driftPolicy: 'Fix' })),
      /spec\.driftPolicy: Unsupported value: "Fix"/,
    );
    assert.match(
      await rejected(nixd('b', { ...base, interval: 'soon' })),
      /spec\.interval: Invalid value: "soon"/,
    );
    assert.match(
      await rejected(nixd('c', { ...base, rollout: { maxParallel: 0 } })),
      /spec\.rollout\.maxParallel/,
    );
    assert.match(await rejected(nixd('d', { ...base, netwrk: {} })), /unknown field "spec\.netwrk"/);
    assert.match(await rejected(nixd('e', {})), /spec\.network: Required value/);
    assert.match(
      await rejected(nixd('f', { network: {} })),
      /spec\.network: Invalid value.*needs files or inline/,
    );
    assert.match(await rejected(nixd('Bad_Name', base)), /metadata\.name/);
  });

  it('reads network files from the source root, and reconciles again when git-sync swaps it', async () => {
    const tree = async (name: string, text: string) => {
      await mkdir(join(root, name), { recursive: true });
      await writeFile(join(root, name, 'network.nix'), text);
    };
    await tree('rev1', '{ }');
    await symlink('rev1', join(root, 'current'));
    await env.kubectl(
      ['apply', '-f', '-'],
      nixd('fromroot', { network: { files: ['network.nix'] }, interval: '1h' }),
    );
    await until('a reconcile of fromroot', async () => requests.some((r) => r.name === 'default.fromroot'));
    const first = requests.filter((r) => r.name === 'default.fromroot').length;
    assert.match(
      requests.find((r) => r.name === 'default.fromroot')?.source.files[0] ?? '',
      /rev1\/network\.nix$/,
    );
    // git-sync's swap: a new tree, a new link renamed over the old one.
    await tree('rev2', '{ network.description = "two"; }');
    await symlink('rev2', join(root, 'tmp-link'));
    await rename(join(root, 'tmp-link'), join(root, 'current'));
    const again = await until('a reconcile of the new tree', async () =>
      requests
        .filter((r) => r.name === 'default.fromroot')
        .slice(first)
        .find((r) => r.source.files[0]?.includes('rev2')),
    );
    assert.notEqual(again.revision, requests.find((r) => r.name === 'default.fromroot')?.revision);
  });

  it('stalls on a missing or bad SSH key Secret without showing its contents', async () => {
    await env.kubectl(
      ['apply', '-f', '-'],
      nixd('keyless', {
        network: { inline: { 'n.nix': '{ }' } },
        sshKeySecretRef: { name: 'nokey', key: 'id' },
      }),
    );
    const missing = await until('Stalled', async () => {
      const o = await get('keyless');
      return cond(o, 'Stalled')?.status === 'True' ? o : undefined;
    });
    assert.equal(cond(missing, 'Ready')?.reason, 'SecretNotFound');
    assert.match(cond(missing, 'Ready')?.message ?? '', /Secret default\/nokey does not exist/);
    const garbage = 'not-a-key-but-a-secret-all-the-same';
    await env.kubectl(['create', 'secret', 'generic', 'nokey', `--from-literal=id=${garbage}`]);
    await env.kubectl(['annotate', 'nixd/keyless', 'reconix.dev/requestedAt=1']);
    const bad = await until('the key to be refused', async () => {
      const o = await get('keyless');
      return /does not hold/.test(cond(o, 'Ready')?.message ?? '') ? o : undefined;
    });
    const everything = [
      JSON.stringify(bad),
      await env.kubectl(['get', 'events', '-o', 'json']),
      ctl.log.lines.join('\n'),
    ];
    assert.ok(!everything.join('\n').includes(garbage));
  });

  it('keeps the finalizer, and says why, while destroying fails', async () => {
    await env.kubectl(
      ['apply', '-f', '-'],
      nixd('sticky', { network: { inline: { 'n.nix': '{ }' } }, retryInterval: '1s' }),
    );
    await until('sticky Ready', async () => cond(await get('sticky'), 'Ready')?.status === 'True');
    await env.kubectl(['delete', 'nixd', 'sticky', '--wait=false']);
    const stuck = await until('DestroyFailed', async () => {
      const o = await get('sticky');
      return cond(o, 'Ready')?.reason === 'DestroyFailed' ? o : undefined;
    });
    assert.deepEqual(stuck.metadata.finalizers, ['reconix.dev/finalizer']);
    assert.match(cond(stuck, 'Ready')?.message ?? '', /web: host busy/);
    destroyFails = false;
    await until('sticky gone', async () => (await get('sticky')) === undefined, 60_000);
  });

  it('state: one writer at a time, by resourceVersion and a renewed hold', async () => {
    const api = env.kubeConfig.makeApiClient(CoreV1Api);
    const a = new KubeStateStore({ api, identity: 'a' });
    const b = new KubeStateStore({ api, identity: 'b' });
    const held = await a.acquire('default.locked', 'test');
    held.state.machines.web = { targetEnv: 'local' };
    await held.save();
    await assert.rejects(
      b.acquire('default.locked', 'test'),
      (e: unknown) => e instanceof ReconixError && e.reason === Reason.StateLocked,
    );
    await held.release();
    const next = await b.acquire('default.locked', 'test');
    assert.deepEqual(Object.keys(next.state.machines), ['web']);
    await next.release();
    assert.deepEqual(await b.list(), ['default.locked']);
    await b.remove('default.locked');
    assert.deepEqual((await b.read('default.locked')).machines, {});
  });
});
