// A real Prometheus scrapes Reconix's /metrics and evaluates the shipped alert rules against them.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { Reason } from '../../../src/api/conditions.js';
import { ReconixMetrics } from '../../../src/metrics/metrics.js';
import { serveMetrics, type MetricsServer } from '../../../src/metrics/server.js';
import type { ReconcileReport } from '../../../src/reconcile/report.js';
import { REPO_ROOT, eventually } from '../../support/workspace.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function driftReport(): ReconcileReport {
  return {
    deployment: 'webapp',
    op: 'deploy',
    ok: true,
    reason: Reason.ReconciliationSucceeded,
    message: '',
    plan: { machines: [], actions: [] },
    startedAt: new Date().toISOString(),
    durationMs: 1200,
    machines: {
      web: { machine: 'web', env: 'none', verdict: 'drifted', outcome: 'drift-reported' },
      db: { machine: 'db', env: 'none', verdict: 'up-to-date', outcome: 'unchanged' },
    },
  };
}

describe('Prometheus and the shipped alert rules', function () {
  this.timeout(90_000);
  let dir: string;
  let metrics: MetricsServer;
  let prometheus: ChildProcess | undefined;
  let api: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reconix-prom-'));
    const registry = new ReconixMetrics({ processMetrics: false });
    registry.record(driftReport());
    metrics = await serveMetrics('127.0.0.1:0', registry.registry, { live: () => true, ready: () => true });
    // The rule groups of the PrometheusRule, as Prometheus itself loads them.
    const rule = parse(await readFile(join(REPO_ROOT, 'deploy/monitoring/prometheusrule.yaml'), 'utf8')) as {
      spec: { groups: unknown[] };
    };
    await writeFile(join(dir, 'rules.yaml'), stringify({ groups: rule.spec.groups }));
    await writeFile(
      join(dir, 'prometheus.yaml'),
      stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: [join(dir, 'rules.yaml')],
        scrape_configs: [
          {
            job_name: 'reconix-controller-metrics',
            static_configs: [{ targets: [`127.0.0.1:${metrics.port}`] }],
          },
        ],
      }),
    );
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yaml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
  });
  after(async () => {
    if (prometheus?.pid !== undefined && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus!.once('exit', r));
      process.kill(prometheus.pid, 'SIGTERM');
      await exited;
    }
    await metrics?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('scrapes the drift gauge of each machine', async () => {
    const result = await eventually('the drift gauge in Prometheus', async () => {
      const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent('reconix_machine_drifted')}`);
      const body = (await res.json()) as {
        data: { result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      return body.data.result.length === 2 && body.data.result;
    });
    const byMachine = Object.fromEntries(result.map((r) => [r.metric.machine, r.value[1]]));
    assert.deepEqual(byMachine, { web: '1', db: '0' });
  });

  it('puts the drifted machine, and only it, into the ReconixMachineDrifted alert', async () => {
    const alerts = await eventually('a pending drift alert', async () => {
      const res = await fetch(`${api}/api/v1/alerts`);
      const body = (await res.json()) as {
        data: { alerts: { labels: Record<string, string>; state: string }[] };
      };
      const drift = body.data.alerts.filter((a) => a.labels.alertname === 'ReconixMachineDrifted');
      return drift.length > 0 && drift;
    });
    assert.deepEqual(
      alerts.map((a) => [a.labels.deployment, a.labels.machine, a.state]),
      [['webapp', 'web', 'pending']],
    );
  });
});
