// deploy/ against a real API server (server-side dry run), and the shipped alerts through promtool.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { run } from '../../../src/util/exec.js';
import { established, installFluxCrds, repoRoot, startKubeEnv, type KubeEnv } from './harness.js';

const fixture = (name: string) => join(repoRoot(), 'test/integration/kube/fixtures', name);
const PROMTOOL = '/usr/bin/promtool';

describe('deploy/ (real kube-apiserver, promtool)', function () {
  this.timeout(180_000);
  let env: KubeEnv;
  let tmp: string;

  before(async () => {
    env = await startKubeEnv();
    tmp = await mkdtemp(join(tmpdir(), 'reconix-deploy-'));
    await env.kubectl(['apply', '-f', fixture('monitoring-crds.yaml')]);
    await installFluxCrds(env);
    for (const crd of ['servicemonitors', 'prometheusrules']) {
      await established(env.kubectl, `${crd}.monitoring.coreos.com`);
    }
    // A dry run creates nothing, so the objects in the namespace need the namespace to exist already.
    await env.kubectl(['create', 'namespace', 'reconix-system']);
  });

  after(async () => {
    await env?.cleanup();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  for (const dir of ['deploy', 'deploy/git-sync']) {
    it(`kubectl apply -k ${dir} passes a server-side dry run`, async () => {
      const out = await env.kubectl(['apply', '-k', join(repoRoot(), dir), '--dry-run=server']);
      for (const kind of [
        'deployment.apps/reconix-controller',
        'prometheusrule',
        'servicemonitor',
        'clusterrole',
      ]) {
        assert.match(out, new RegExp(`${kind}.* \\(server dry run\\)`));
      }
    });
  }

  it('runs the controller non-root on a read-only root filesystem with probes and requests', async () => {
    const docs = parseAllDocuments(await env.kubectl(['kustomize', join(repoRoot(), 'deploy')])).map(
      (d) => d.toJS() as { kind: string; spec: Record<string, never> },
    );
    const deployment = docs.find((d) => d.kind === 'Deployment') as unknown as {
      spec: {
        template: {
          spec: { securityContext: { runAsNonRoot: boolean }; containers: Record<string, never>[] };
        };
      };
    };
    const pod = deployment.spec.template.spec;
    const c = pod.containers[0] as unknown as {
      securityContext: { readOnlyRootFilesystem: boolean };
      livenessProbe: { httpGet: { path: string } };
      readinessProbe: { httpGet: { path: string } };
      resources: { requests: Record<string, string> };
    };
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.ok(c.resources.requests.cpu && c.resources.requests.memory);
  });

  it('grants the controller no more than it uses: Secrets are read by name, never listed or watched', async () => {
    const can = async (verb: string, resource: string, ns = 'default') => {
      const sa = 'system:serviceaccount:reconix-system:reconix-controller';
      const r = await env.kube.kubectl(['auth', 'can-i', verb, resource, '-n', ns, '--as', sa]);
      return r.stdout.trim() === 'yes';
    };
    await env.kubectl(['apply', '-k', join(repoRoot(), 'deploy/base')]);
    assert.equal(await can('get', 'secrets'), true);
    assert.equal(await can('list', 'secrets'), false);
    assert.equal(await can('watch', 'secrets'), false);
    // The keys it makes for a deployment go to a Secret it creates, owned by the NixDeployment.
    assert.equal(await can('create', 'secrets'), true);
    assert.equal(await can('patch', 'nixdeployments.reconix.dev/status'), true);
    assert.equal(await can('delete', 'nixdeployments.reconix.dev'), false);
    assert.equal(await can('create', 'events'), true);
    assert.equal(await can('watch', 'gitrepositories.source.toolkit.fluxcd.io'), true);
    assert.equal(await can('get', 'ocirepositories.source.toolkit.fluxcd.io'), true);
    assert.equal(await can('patch', 'gitrepositories.source.toolkit.fluxcd.io'), false);
    assert.equal(await can('update', 'leases.coordination.k8s.io', 'reconix-system'), true);
    assert.equal(await can('update', 'leases.coordination.k8s.io', 'default'), false);
  });

  it('ships alert rules that promtool accepts and that fire on drift and failing reconciles', async function () {
    if (!existsSync(PROMTOOL)) this.skip();
    const rule = parse(await readFile(join(repoRoot(), 'deploy/monitoring/prometheusrule.yaml'), 'utf8')) as {
      spec: { groups: unknown[] };
    };
    const rules = join(tmp, 'rules.yaml');
    await writeFile(rules, stringify({ groups: rule.spec.groups }));
    const check = await run(PROMTOOL, ['check', 'rules', rules]).catch(
      (e: unknown) => e as { stdout: string },
    );
    assert.match((check as { stdout: string }).stdout, /SUCCESS: 4 rules found/);
    const tests = parse(await readFile(fixture('alerts.test.yaml'), 'utf8')) as Record<string, unknown>;
    const testFile = join(tmp, 'alerts.test.yaml');
    await writeFile(testFile, stringify({ rule_files: [rules], ...tests }));
    const result = await run(PROMTOOL, ['test', 'rules', testFile]).catch(
      (e: unknown) => e as { stdout: string },
    );
    assert.match((result as { stdout: string }).stdout, /SUCCESS/);
  });
});
