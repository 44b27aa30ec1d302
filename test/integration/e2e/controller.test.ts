// The directory controller on real hosts: edits, out-of-band drift, a git-sync style link swap, metrics, and a
// manifest that stops loading.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reason } from '../../../src/api/conditions.js';
import { checkResults } from '../../../src/cli/check.js';
import { ReconixMetrics } from '../../../src/metrics/metrics.js';
import { serveMetrics, type MetricsServer } from '../../../src/metrics/server.js';
import { reconcileDeployment } from '../../../src/reconcile/reconciler.js';
import type { ReconcileReport } from '../../../src/report/report.js';
import { DirectoryController } from '../../../src/controller/directory/controller.js';
import { gitRevision, loadDeployments } from '../../../src/source/load.js';
import { run } from '../../../src/util/exec.js';
import { silentLogger } from '../../../src/util/log.js';
import { countedEvaluations, type CountingEvaluator } from '../../support/counting-evaluator.js';
import { eventually, makeWorkspace, type Workspace } from '../../support/workspace.js';

const git = (dir: string, ...args: string[]) =>
  run('git', ['-C', dir, '-c', 'user.email=test@reconix.dev', '-c', 'user.name=test', ...args]);

/** A tree committed in its own repository, as a git-sync worktree is. */
async function commitTree(from: string, to: string, message: string): Promise<string> {
  await cp(from, to, { recursive: true, filter: (src) => !src.includes('/.state') });
  await git(to, 'init', '-q');
  await git(to, 'add', '-A');
  await git(to, 'commit', '-qm', message);
  return (await git(to, 'rev-parse', 'HEAD')).stdout.trim();
}

/** Run a command inside a local host's mount namespace (what someone with a root shell there would do). */
async function onHost(ws: Workspace, machine: string, script: string): Promise<void> {
  const pid = (await ws.state()).machines[machine]?.target?.pid;
  assert.equal(typeof pid, 'number');
  await run('nsenter', ['--mount', '--target', String(pid), '--', 'sh', '-c', script]);
}

describe('the directory controller on real hosts', function () {
  this.timeout(180_000);
  let ws: Workspace;
  let sync: string;
  let controller: DirectoryController;
  let metrics: ReconixMetrics;
  let server: MetricsServer;
  let counted: CountingEvaluator;
  const reports: ReconcileReport[] = [];
  /** The next reconcile of apache-local (the directory also holds apache-none, whose hosts never answer). */
  const nextReport = (after = reports.length) =>
    eventually('a reconcile', async () =>
      reports.find((r, i) => i >= after && r.deployment === 'apache-local'),
    );

  before(async () => {
    ws = await makeWorkspace('apache');
    await ws.write('local.yaml', (await ws.read('local.yaml')).replace('interval: 5m', 'interval: 4s'));
    sync = await mkdtemp(join(tmpdir(), 'reconix-sync-'));
    await commitTree(ws.dir, join(sync, 'rev1'), 'first');
    await symlink('rev1', join(sync, 'current'));
    metrics = new ReconixMetrics({ processMetrics: false });
    const cached = countedEvaluations(ws.deps, ws.stateDir);
    counted = cached.counted;
    controller = new DirectoryController({
      dir: join(sync, 'current'),
      load: (root) => loadDeployments(root, join(ws.stateDir, 'scratch')),
      reconcile: (req) => reconcileDeployment(req, cached.deps),
      revisionOf: gitRevision,
      log: silentLogger,
      metrics,
      state: ws.deps.state,
      debounceMs: 100,
      linkPollMs: 500,
      onReport: (r) => reports.push(r),
    });
    server = await serveMetrics('127.0.0.1:0', metrics.registry, {
      live: () => controller.liveness(),
      ready: () => controller.readiness(),
    });
    await controller.start();
  });
  after(async () => {
    await controller?.stop();
    await server?.close();
    await ws?.dispose();
    await rm(sync, { recursive: true, force: true });
  });

  it('deploys every machine of the manifests it finds', async () => {
    const r = await eventually('first successful reconcile', async () => reports.find((x) => x.ok));
    assert.equal(r.revision, await gitRevision(join(sync, 'rev1')));
    for (const m of ['proxy', 'backend1', 'backend2']) assert.equal((await ws.activations(m)).length, 1);
  });

  it('evaluates nothing at a resync when nothing changed', async () => {
    await nextReport();
    const before = counted.calls;
    const resync = await nextReport();
    assert.equal(resync.ok, true, resync.message);
    assert.equal(counted.calls, before);
  });

  it('picks up an edited manifest without a restart', async () => {
    const file = join(sync, 'rev1', 'local.yaml');
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace('domain: example.org', 'domain: example.net'),
    );
    await eventually('activation of the edited spec', async () => {
      const logs = await Promise.all(['proxy', 'backend1', 'backend2'].map((m) => ws.activations(m)));
      return logs.every((l) => l.length === 2);
    });
  });

  it('reports an out-of-band switch with check, and corrects it at the next resync', async () => {
    // Right after a resync, so the check runs before the next one.
    await nextReport();
    await onHost(
      ws,
      'backend1',
      'nix-env -p /nix/var/nix/profiles/system --switch-generation 1 >/dev/null 2>&1 && /nix/var/nix/profiles/system/bin/switch-to-configuration switch',
    );
    const d = (await loadDeployments(join(sync, 'current'), join(ws.stateDir, 'scratch'))).deployments[0]!;
    const { requestFor } = await import('../../../src/source/deployments.js');
    const check = await reconcileDeployment(requestFor(d.name, d.spec, d.source, 'check'), ws.deps);
    const res = checkResults(check);
    assert.equal(res.machines.find((m) => m.machine === 'backend1')?.drifted, true);
    assert.equal(res.exitCode & 8, 8);

    const fixed = await eventually('drift corrected', async () =>
      reports.find((r) => r.machines.backend1?.outcome === 'drift-corrected'),
    );
    assert.equal(fixed.ok, true);
    const log = await ws.activations('backend1');
    assert.match(log.at(-1)!, new RegExp(`switch ${fixed.machines.backend1!.system}$`));
  });

  it('follows a git-sync style symlink swap to a new commit', async () => {
    const rev2 = await commitTree(join(sync, 'rev1'), join(sync, 'rev2'), 'second');
    const net = join(sync, 'rev2', 'network.nix');
    await writeFile(
      net,
      (await readFile(net, 'utf8')).replace(
        'backend2 = backend "backend2";',
        'backend2 = { imports = [ (backend "backend2") ]; environment.etc.motd.text = "rev2"; };',
      ),
    );
    await git(join(sync, 'rev2'), 'commit', '-qam', 'backend2 motd');
    const head = (await git(join(sync, 'rev2'), 'rev-parse', 'HEAD')).stdout.trim();
    assert.notEqual(head, rev2);
    const before = (await ws.activations('backend2')).length;
    await symlink('rev2', join(sync, 'tmp-link'));
    await rename(join(sync, 'tmp-link'), join(sync, 'current'));
    const r = await eventually('reconcile of the new commit', async () =>
      reports.find((x) => x.revision === head && x.machines.backend2?.outcome === 'activated'),
    );
    assert.equal(r.machines.proxy?.outcome, 'unchanged');
    assert.equal((await ws.activations('backend2')).length, before + 1);
    assert.equal(controller.currentRevision, head);
  });

  it('serves metrics and health', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.match(text, /reconix_reconcile_duration_seconds_bucket\{.*deployment="apache-local"/);
    assert.match(text, /reconix_machine_drifted\{deployment="apache-local",machine="backend1"\} 0/);
    assert.match(text, /reconix_drift_detected_total\{deployment="apache-local",machine="backend1"\} [1-9]/);
    assert.match(text, /reconix_source_revision_info\{deployment="apache-local",revision="[0-9a-f]{40}"\} 1/);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
  });

  it('keeps a deployment whose manifest stops loading, and fails only the broken document of a file', async () => {
    const file = join(sync, 'current', 'local.yaml');
    const good = await readFile(file, 'utf8');
    const activations = await ws.activations('backend1');
    const metric = async (re: RegExp) => re.test(await metrics.registry.metrics());

    // WHEN another document of the same file is broken, THEN the deployment goes on as before
    await writeFile(file, `${good}\n---\nkind: NixDeployment\nmetadata: { name: [oops\n`);
    await eventually('the load error', async () => controller.loadErrors.length === 1);
    const after = reports.length;
    // The directory also holds none.yaml, whose hosts (an unused loopback address) never answer: its retries must not
    // be taken for this one.
    const next = await eventually('the next reconcile of apache-local', async () =>
      reports.find((r, i) => i >= after && r.deployment === 'apache-local'),
    );
    assert.equal(next.ok, true, next.message);

    // WHEN its own document stops parsing
    await writeFile(file, good.replace('spec:', 'spec: ['));
    // THEN it is failed with InvalidManifest, its machines' series stay, and nothing is activated
    const failed = await eventually('the InvalidManifest report', async () =>
      reports.find((r, i) => i >= after && r.reason === Reason.InvalidManifest),
    );
    assert.match(failed.message, /local\.yaml \(document 1\)/);
    assert.equal((await ws.state()).status?.reason, Reason.InvalidManifest);
    assert.ok(await metric(/reconix_deployment_ready\{deployment="apache-local"\} 0/));
    assert.ok(
      await metric(
        /reconix_reconcile_errors_total\{deployment="apache-local",reason="InvalidManifest"\} [1-9]/,
      ),
    );
    assert.ok(await metric(/reconix_machine_drifted\{deployment="apache-local",machine="backend1"\} 0/));
    assert.deepEqual(await ws.activations('backend1'), activations);

    // WHEN it is fixed, THEN it is reconciled again and Ready
    await writeFile(file, good);
    await eventually('a successful reconcile', async () => reports.at(-1)?.ok === true);
    assert.ok(await metric(/reconix_deployment_ready\{deployment="apache-local"\} 1/));
    assert.equal((await ws.state()).status?.ok, true);
  });
});
