// The directory controller with the real loader, real files and the real state store: a manifest that stops
// loading keeps its deployment, its metrics series and its recorded state.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Reason } from '../../../src/api/conditions.js';
import { ReconixMetrics } from '../../../src/metrics/metrics.js';
import type { ReconcileRequest } from '../../../src/core/request.js';
import type { ReconcileReport } from '../../../src/report/report.js';
import { DirectoryController } from '../../../src/controller/directory/controller.js';
import { loadDeployments } from '../../../src/source/load.js';
import { FileStateStore } from '../../../src/state/file-store.js';
import { eventually } from '../../support/workspace.js';
import { manifestDoc } from './manifests.js';

/** A successful deploy in which `web` of every deployment drifted and was only reported. */
function drifted(req: ReconcileRequest): ReconcileReport {
  return {
    deployment: req.name,
    op: 'deploy',
    ok: true,
    reason: Reason.ReconciliationSucceeded,
    message: '',
    plan: { machines: [], actions: [] },
    machines: { web: { machine: 'web', env: 'local', verdict: 'drifted', outcome: 'drift-reported' } },
    startedAt: new Date().toISOString(),
    durationMs: 5,
  };
}

describe('DirectoryController with a manifest that stops loading', () => {
  let dir: string;
  let controller: DirectoryController;
  let metrics: ReconixMetrics;
  let state: FileStateStore;
  const calls: ReconcileRequest[] = [];
  const logged: string[] = [];
  const fleet = (second: string) =>
    fs.writeFile(path.join(dir, 'fleet.yaml'), [manifestDoc('a'), second].join('\n---\n'));
  const series = async (re: RegExp) => re.test(await metrics.registry.metrics());

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'reconix-dir-invalid-'));
    await fs.writeFile(path.join(dir, 'network.nix'), '{ web = { }; }\n');
    await fleet(manifestDoc('b', '  retryInterval: 50ms'));
    calls.length = 0;
    logged.length = 0;
    metrics = new ReconixMetrics({ processMetrics: false });
    state = new FileStateStore(path.join(dir, '.state'));
    const remember = (m: string, f?: Record<string, unknown>) => logged.push(`${m} ${JSON.stringify(f)}`);
    controller = new DirectoryController({
      dir,
      load: (root) => loadDeployments(root, path.join(dir, '.scratch')),
      reconcile: async (req) => (calls.push(req), drifted(req)),
      revisionOf: async () => undefined,
      log: { info: () => undefined, warn: remember, error: remember },
      metrics,
      state,
      debounceMs: 50,
    });
    await controller.start();
    await eventually('both deployed', async () => calls.length === 2, 5000, 20);
  });
  afterEach(async () => {
    await controller.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('keeps the broken document’s deployment, its drift series and fails it with InvalidManifest', async () => {
    // WHEN the second document of the file gets a YAML error (its name can no longer be read)
    await fleet('kind: NixDeployment\nmetadata: { name: [b\n');
    // THEN b is failed with InvalidManifest, in metrics, in the log and in its recorded status
    await eventually(
      'the InvalidManifest error of b',
      () => series(/reconix_reconcile_errors_total\{deployment="b",reason="InvalidManifest"\} [1-9]/),
      5000,
      20,
    );
    const text = await metrics.registry.metrics();
    assert.match(text, /reconix_deployment_ready\{deployment="b"\} 0/);
    // AND its machine's drift series is still there: the drift alert does not vanish with a typo
    assert.match(text, /reconix_machine_drifted\{deployment="b",machine="web"\} 1/);
    // AND a, in the same file, is untouched
    assert.match(text, /reconix_deployment_ready\{deployment="a"\} 1/);
    const status = await eventually('the recorded status of b', async () => (await state.read('b')).status);
    assert.equal(status.reason, Reason.InvalidManifest);
    assert.match(status.message, /fleet\.yaml \(document 2\)/);
    assert.ok(logged.some((l) => l.includes('its manifest does not load') && l.includes('"deployment":"b"')));
    // AND it stalls: retrying cannot fix a file, so over ten retry intervals it is neither retried nor reconciled
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(await series(/reconix_reconcile_errors_total\{deployment="b",reason="InvalidManifest"\} 1\n/));
    assert.equal(calls.filter((c) => c.name === 'b').length, 1);
  });

  it('reconciles the deployment again once its manifest is fixed, even back to the same text', async () => {
    await fleet('kind: NixDeployment\nmetadata: { name: [b\n');
    await eventually(
      'b broken',
      async () => controller.lastReports.get('b')?.reason === Reason.InvalidManifest,
    );
    await fleet(manifestDoc('b', '  retryInterval: 50ms'));
    await eventually(
      'b reconciled again',
      async () => calls.filter((c) => c.name === 'b').length === 2,
      5000,
      20,
    );
    await eventually('b ready', () => series(/reconix_deployment_ready\{deployment="b"\} 1/), 5000, 20);
    assert.equal(calls.filter((c) => c.name === 'a').length, 1);
  });

  it('still forgets a deployment whose document was removed from a file that loads', async () => {
    await fs.writeFile(path.join(dir, 'fleet.yaml'), manifestDoc('a'));
    await eventually(
      'the series of b dropped',
      async () => !(await series(/reconix_(deployment_ready|machine_drifted)\{deployment="b"/)),
      5000,
      20,
    );
    assert.equal(controller.loadErrors.length, 0);
  });
});
