// Controllers that see part of the NixDeployments: one started for a namespace acts on that namespace only, and
// shards started with label selectors split the objects between them.
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { leaseName } from '../../../src/cli/kube.js';
import { join } from 'node:path';
import {
  installFluxCrds,
  repoRoot,
  startController,
  startKubeEnv,
  until,
  type ControllerUnderTest,
  type KubeEnv,
} from './harness.js';

type Obj = { status?: { conditions?: { type: string; status: string }[] } };

function manifest(namespace: string, name: string, labels: Record<string, string> = {}): string {
  return stringify({
    apiVersion: 'reconix.dev/v1alpha1',
    kind: 'NixDeployment',
    metadata: { name, namespace, labels },
    spec: {
      network: { inline: { 'network.nix': '{ network.description = "nothing to host"; }' } },
      builder: 'mini',
      interval: '1h',
    },
  });
}

describe('controllers for one namespace or one shard (real kube-apiserver)', function () {
  this.timeout(300_000);
  let env: KubeEnv;
  const controllers: ControllerUnderTest[] = [];
  const start = async (extra: Parameters<typeof startController>[1]) => {
    const c = await startController(env, extra);
    controllers.push(c);
    return c;
  };
  const ready = (namespace: string, name: string) =>
    until(`${namespace}/${name} Ready`, async () => {
      const o = await env.getJson<Obj>('nixdeployment', name, namespace);
      return o?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    });
  const reconciled = (c: ControllerUnderTest) => [...new Set(c.starts.map((s) => s.id))].sort();

  before(async () => {
    env = await startKubeEnv();
    await installFluxCrds(env);
    for (const ns of ['a', 'b', 'reconix-system', 'reconix-deployments']) {
      await env.kubectl(['create', 'namespace', ns]);
    }
  });
  afterEach(async () => {
    for (const c of controllers.splice(0)) await c.cleanup();
    // Left without a controller, the finalizers would hold the objects: let them go.
    for (const ns of ['a', 'b']) {
      const names = (await env.kubectl(['get', 'nixd', '-n', ns, '-o', 'name'])).split('\n').filter(Boolean);
      for (const n of names) {
        await env.kubectl(['patch', n, '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
        await env.kubectl(['delete', n, '-n', ns, '--wait=true']);
      }
    }
  });
  after(async () => {
    await env?.cleanup();
  });

  it('acts on its own namespace only when started with a namespace', async () => {
    const ctl = await start({ namespace: 'a' });
    await env.kubectl(['apply', '-f', '-'], manifest('b', 'other'));
    await env.kubectl(['apply', '-f', '-'], manifest('a', 'mine'));
    await ready('a', 'mine');
    // Reconciles are queued in the order their objects arrive: "other" came first and is still untouched.
    const other = await env.getJson<Obj & { metadata: { finalizers?: string[] } }>(
      'nixdeployment',
      'other',
      'b',
    );
    assert.equal(other?.status, undefined);
    assert.equal(other?.metadata.finalizers, undefined);
    assert.deepEqual(reconciled(ctl), ['a.mine']);
  });

  it('splits the objects between shards started with label selectors', async () => {
    const a = await start({ selector: 'shard=a' });
    const b = await start({ selector: 'shard=b' });
    await env.kubectl(['apply', '-f', '-'], manifest('a', 'one', { shard: 'a' }));
    await env.kubectl(['apply', '-f', '-'], manifest('b', 'two', { shard: 'b' }));
    await env.kubectl(['apply', '-f', '-'], manifest('b', 'three', { shard: 'a' }));
    await env.kubectl(['apply', '-f', '-'], manifest('a', 'unsharded'));
    for (const [ns, name] of [
      ['a', 'one'],
      ['b', 'two'],
      ['b', 'three'],
    ] as const)
      await ready(ns, name);
    assert.deepEqual(reconciled(a), ['a.one', 'b.three']);
    assert.deepEqual(reconciled(b), ['b.two']);
    const none = await env.getJson<Obj>('nixdeployment', 'unsharded', 'a');
    assert.equal(none?.status, undefined);
  });

  it('gives each shard a Lease of its own unless one is named', () => {
    assert.equal(leaseName(undefined, undefined), 'reconix-controller');
    assert.equal(leaseName('mine', 'shard=a'), 'mine');
    const a = leaseName(undefined, 'shard=a');
    assert.match(a, /^reconix-controller-[0-9a-f]{10}$/);
    assert.notEqual(a, leaseName(undefined, 'shard=b'));
    assert.equal(a, leaseName(undefined, ' shard=a '));
  });

  it('installs for one namespace: kubectl apply -k deploy/namespaced passes a server-side dry run', async () => {
    const out = await env.kubectl(['apply', '-k', join(repoRoot(), 'deploy/namespaced'), '--dry-run=server']);
    for (const kind of [
      'deployment.apps',
      'role.rbac.authorization.k8s.io',
      'networkpolicy.networking.k8s.io',
    ]) {
      assert.match(out, new RegExp(`${kind}/reconix-controller .*\\(server dry run\\)`));
    }
    assert.doesNotMatch(out, /clusterrole/);
    const rendered = await env.kubectl(['kustomize', join(repoRoot(), 'deploy/namespaced')]);
    assert.match(rendered, /- --namespace=reconix-deployments/);
  });

  it('grants the namespaced controller nothing outside its namespace', async () => {
    await env.kubectl(['apply', '-k', join(repoRoot(), 'deploy/namespaced')]);
    const can = async (verb: string, resource: string, ns: string) => {
      const sa = 'system:serviceaccount:reconix-system:reconix-controller';
      const r = await env.kube.kubectl(['auth', 'can-i', verb, resource, '-n', ns, '--as', sa]);
      return r.stdout.trim() === 'yes';
    };
    assert.equal(await can('get', 'secrets', 'reconix-deployments'), true);
    assert.equal(await can('list', 'nixdeployments.reconix.dev', 'reconix-deployments'), true);
    assert.equal(await can('patch', 'nixdeployments.reconix.dev/status', 'reconix-deployments'), true);
    assert.equal(await can('watch', 'gitrepositories.source.toolkit.fluxcd.io', 'reconix-deployments'), true);
    for (const ns of ['a', 'default']) {
      assert.equal(await can('get', 'gitrepositories.source.toolkit.fluxcd.io', ns), false);
      assert.equal(await can('get', 'secrets', ns), false);
      assert.equal(await can('get', 'nixdeployments.reconix.dev', ns), false);
      assert.equal(await can('list', 'nixdeployments.reconix.dev', ns), false);
      assert.equal(await can('get', 'configmaps', ns), false);
    }
    assert.equal(await can('list', 'secrets', 'reconix-deployments'), false);
    assert.equal(await can('update', 'leases.coordination.k8s.io', 'reconix-system'), true);
  });
});
