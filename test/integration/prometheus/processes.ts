// The processes these tests run: `reconix controller --dir` as a user starts it, and a Prometheus server that
// loads the shipped alert rules. Each has its own port and temp dir and is stopped by its PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { CLI } from '../../support/cli.js';
import { REPO_ROOT, eventually } from '../../support/workspace.js';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
async function stopByPid(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface ControllerProcess {
  readonly port: number;
  readonly base: string;
  /** Everything it logged so far (JSON lines). */
  log(): string;
  get(path: string): Promise<{ status: number; body: string }>;
  stop(): Promise<void>;
  /** SIGKILL by its PID, as a crash would end it; resolves once it has exited. */
  kill(): Promise<void>;
}

export async function startController(
  dir: string,
  stateDir: string,
  extraArgs: string[] = [],
): Promise<ControllerProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [CLI, '--state-dir', stateDir, 'controller', '--dir', dir, '--listen', `127.0.0.1:${port}`, ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString('utf8')));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString('utf8')));
  const base = `http://127.0.0.1:${port}`;
  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`);
    return { status: res.status, body: await res.text() };
  };
  const kill = async () => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(child.pid, 'SIGKILL');
    await exited;
  };
  const proc: ControllerProcess = { port, base, log: () => out, get, stop: () => stopByPid(child), kill };
  try {
    await eventually('the controller to listen', async () => {
      if (child.exitCode !== null) throw new Error(`the controller exited: ${out}`);
      return (await get('/metrics')).status === 200;
    });
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return proc;
}

export interface Alert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

export interface PrometheusServer {
  readonly api: string;
  /** The active (pending or firing) alerts. */
  alerts(): Promise<Alert[]>;
  /** The value of an instant query's single result, if there is one. */
  value(query: string): Promise<string | undefined>;
  stop(): Promise<void>;
}

/**
 * Prometheus scraping `target` every second with the rule groups of deploy/monitoring/prometheusrule.yaml as
 * shipped, except the `for:` durations named in `forDurations`.
 */
export async function startPrometheus(
  target: string,
  forDurations: Record<string, string>,
): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), 'reconix-prom-'));
  const shipped = parse(await readFile(join(REPO_ROOT, 'deploy/monitoring/prometheusrule.yaml'), 'utf8')) as {
    spec: { groups: { rules: { alert?: string; for?: string }[] }[] };
  };
  for (const rule of shipped.spec.groups.flatMap((g) => g.rules)) {
    const shorter = rule.alert !== undefined ? forDurations[rule.alert] : undefined;
    if (shorter !== undefined) rule.for = shorter;
  }
  await writeFile(join(dir, 'rules.yaml'), stringify({ groups: shipped.spec.groups }));
  await writeFile(
    join(dir, 'prometheus.yaml'),
    stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [join(dir, 'rules.yaml')],
      scrape_configs: [{ job_name: 'reconix-controller-metrics', static_configs: [{ targets: [target] }] }],
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
  const server: PrometheusServer = {
    api,
    async alerts() {
      const body = (await (await fetch(`${api}/api/v1/alerts`)).json()) as { data: { alerts: Alert[] } };
      return body.data.alerts;
    },
    async value(query) {
      const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(query)}`);
      const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
      return body.data.result.length === 1 ? body.data.result[0]!.value[1] : undefined;
    },
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
