// A real Prometheus server for tests: its own port, temp dir and TSDB, scraping the loopback targets a test names
// every second (unless told otherwise), stopped by its PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { eventually } from './workspace.js';

/** A TCP port free on 127.0.0.1 (or `host`) a moment ago. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
export async function stopByPid(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface Alert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

export interface ScrapeJob {
  job: string;
  /** host:port of each endpoint serving /metrics. */
  targets: readonly string[];
}

export interface PrometheusOptions {
  jobs: readonly ScrapeJob[];
  /** Rule groups, as in a rules file's `groups:`. */
  ruleGroups?: unknown[];
  /** Scrape and rule evaluation interval; default 1s. */
  interval?: string;
}

export interface PrometheusServer {
  /** Base URL of its HTTP API, e.g. http://127.0.0.1:40123. */
  readonly api: string;
  /** The active (pending or firing) alerts. */
  alerts(): Promise<Alert[]>;
  /** The value of an instant query's single result, if there is one. */
  value(query: string): Promise<string | undefined>;
  /** Every sample of an instant query, by its labels; a query Prometheus refuses throws, with its error. */
  samples(query: string): Promise<{ metric: Record<string, string>; value: string }[]>;
  /** Stop it (idempotent) and remove its directory. */
  stop(): Promise<void>;
}

export async function startPrometheus(opts: PrometheusOptions): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), 'reconix-prom-'));
  const interval = opts.interval ?? '1s';
  const rules = opts.ruleGroups !== undefined ? [join(dir, 'rules.yaml')] : [];
  if (opts.ruleGroups !== undefined) await writeFile(rules[0]!, stringify({ groups: opts.ruleGroups }));
  await writeFile(
    join(dir, 'prometheus.yaml'),
    stringify({
      global: { scrape_interval: interval, evaluation_interval: interval },
      rule_files: rules,
      scrape_configs: opts.jobs.map((j) => ({
        job_name: j.job,
        scrape_timeout: interval,
        static_configs: [{ targets: j.targets }],
      })),
    }),
  );
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  const child = spawn(
    '/usr/bin/prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yaml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );
  const query = async (q: string) => {
    const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (body.status !== 'success') throw new Error(`Prometheus refused ${q}: ${body.error ?? res.status}`);
    return (body.data?.result ?? []).map((r) => ({ metric: r.metric, value: r.value[1] }));
  };
  const server: PrometheusServer = {
    api,
    async alerts() {
      const body = (await (await fetch(`${api}/api/v1/alerts`)).json()) as { data: { alerts: Alert[] } };
      return body.data.alerts;
    },
    async value(q) {
      const result = await query(q);
      return result.length === 1 ? result[0]!.value : undefined;
    },
    samples: query,
    async stop() {
      await stopByPid(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await eventually('Prometheus to be ready', async () => {
      if (child.exitCode !== null) throw new Error('prometheus exited');
      return (await fetch(`${api}/-/ready`)).status === 200;
    });
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}
