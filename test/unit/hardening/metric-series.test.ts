// The directory controller with the real loader and the real metrics registry: series of a machine that left
// the spec, and of a deployment whose manifest was removed, go away.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Reason } from '../../../src/api/conditions.js';
import type { ReconcileRequest } from '../../../src/core/request.js';
import { DirectoryController } from '../../../src/controller/directory/controller.js';
import { ReconixMetrics } from '../../../src/metrics/metrics.js';
import type { MachineReport, ReconcileReport } from '../../../src/report/report.js';
import { loadDeployments } from '../../../src/source/load.js';
import { eventually } from '../../support/workspace.js';
import { manifestDoc } from '../sources/manifests.js';

describe('metrics series of machines and deployments that are gone', () => {
  let dir: string;
  let controller: DirectoryController;
  let metrics: ReconixMetrics;
  const machinesOf: Record<string, string[]> = { a: ['web', 'db'], b: ['web'] };
  const reconciled: string[] = [];

  const machine = (name: string): MachineReport => ({
    machine: name,
    env: 'none',
    verdict: 'drifted',
    outcome: 'drift-corrected',
    keys: { missing: [], delivered: ['k'] },
  });
  const report = (req: ReconcileRequest): ReconcileReport => ({
    deployment: req.name,
    op: 'deploy',
    ok: true,
    reason: Reason.ReconciliationSucceeded,
    message: '',
    plan: { machines: [], actions: [] },
    machines: Object.fromEntries((machinesOf[req.name] ?? []).map((m) => [m, machine(m)])),
    startedAt: new Date().toISOString(),
    durationMs: 5,
    revision: 'r1',
  });
  const seriesOf = async (re: RegExp): Promise<string[]> =>
    (await metrics.registry.metrics()).split('\n').filter((l) => !l.startsWith('#') && re.test(l));

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'reconix-series-'));
    await fs.writeFile(path.join(dir, 'network.nix'), '{ web = { }; }\n');
    await fs.writeFile(path.join(dir, 'a.yaml'), manifestDoc('a'));
    await fs.writeFile(path.join(dir, 'b.yaml'), manifestDoc('b'));
    metrics = new ReconixMetrics({ processMetrics: false });
    controller = new DirectoryController({
      dir,
      load: (root) => loadDeployments(root, path.join(dir, '.scratch')),
      reconcile: async (req) => (reconciled.push(req.name), report(req)),
      revisionOf: async () => undefined,
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
      metrics,
      debounceMs: 50,
    });
    await controller.start();
    await eventually('both reconciled', async () => reconciled.length >= 2, 5000, 20);
  });
  after(async () => {
    await controller.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('has series for every machine of every deployment after the first reconciles', async () => {
    assert.equal((await seriesOf(/machine="db"/)).length, 5);
    assert.ok((await seriesOf(/deployment="b"/)).length > 10);
  });

  it('removes every series of a machine that left the spec, and keeps the others', async () => {
    // GIVEN db leaves deployment a's spec WHEN a is reconciled again
    machinesOf.a = ['web'];
    const before = reconciled.length;
    await fs.writeFile(path.join(dir, 'a.yaml'), manifestDoc('a', '  suspend: false'));
    await eventually('a reconciled again', async () => reconciled.length > before, 5000, 20);
    // THEN db's drift, failure, keys and delivery series are gone; web's stay
    assert.deepEqual(await seriesOf(/machine="db"/), []);
    assert.equal((await seriesOf(/deployment="a",machine="web"/)).length, 5);
  });

  it('removes every series of a deployment whose manifest was removed, histogram and counters included', async () => {
    await fs.rm(path.join(dir, 'b.yaml'));
    await eventually('b forgotten', async () => (await seriesOf(/deployment="b"/)).length === 0, 5000, 20);
    assert.ok((await seriesOf(/deployment="a"/)).length > 10);
  });
});
