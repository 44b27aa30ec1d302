// The processes these tests run: `reconix controller --dir` as a user starts it, and a Prometheus server that
// loads the shipped alert rules. Each has its own port and temp dir and is stopped by its PID.
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CLI } from '../../support/cli.js';
import {
  freePort,
  startPrometheus as startPrometheusServer,
  stopByPid,
  type PrometheusServer,
} from '../../support/prometheus.js';
import { REPO_ROOT, eventually, makeWorkspace, type Workspace } from '../../support/workspace.js';

export type { Alert, PrometheusServer } from '../../support/prometheus.js';

/**
 * A manifest that a controller reconciles every 2 s and retries after 1 s, with the mini builder: what these tests
 * give a controller so that they need not wait long for it. `driftPolicy` is left out when not given; `more`
 * are further lines of the spec.
 */
export function quickManifest(
  name: string,
  files: readonly string[] = ['network.nix', 'physical-local.nix'],
  driftPolicy?: 'Report' | 'Correct',
  more: readonly string[] = [],
): string {
  return [
    'apiVersion: reconix.dev/v1alpha1',
    'kind: NixDeployment',
    `metadata: { name: ${name} }`,
    'spec:',
    `  network: { files: [${files.join(', ')}] }`,
    '  builder: mini',
    '  interval: 2s',
    '  retryInterval: 1s',
    ...(driftPolicy ? [`  driftPolicy: ${driftPolicy}`] : []),
    ...more.map((line) => `  ${line}`),
    '',
  ].join('\n');
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

export interface ControlledWorkspace {
  ws: Workspace;
  controller: ControllerProcess;
  /** The network file as the workspace began with it. */
  network: string;
}

/**
 * The trivial example with its local manifest only (the other one names a host that is not ours), as
 * `deployment` under driftPolicy Report, managed by a controller process started with `extraArgs`. If the
 * controller does not start, the workspace is removed.
 */
export async function controlTrivial(
  deployment: string,
  extraArgs: string[] = [],
): Promise<ControlledWorkspace> {
  const ws = await makeWorkspace('trivial');
  try {
    await rm(join(ws.dir, 'none.yaml'));
    await ws.write('local.yaml', quickManifest(deployment, undefined, 'Report'));
    const network = await ws.read('network.nix');
    return { ws, controller: await startController(ws.dir, ws.stateDir, extraArgs), network };
  } catch (err) {
    await ws.dispose();
    throw err;
  }
}

/** Change the trivial network so that the controller deploys a second generation of its machine; wait for it. */
export async function secondGeneration(ws: Workspace, network: string): Promise<void> {
  await ws.write('network.nix', network.replace('deployed by Reconix', 'deployed by Reconix, again'));
  await eventually(
    'generation 2',
    async () => (await ws.state()).machines.machine?.activated?.generation === 2,
    120_000,
  );
}

/**
 * Prometheus scraping `target` every second with the rule groups of deploy/monitoring/prometheusrule.yaml as
 * shipped, except the `for:` durations named in `forDurations`.
 */
export async function startPrometheus(
  target: string,
  forDurations: Record<string, string>,
): Promise<PrometheusServer> {
  const shipped = parse(await readFile(join(REPO_ROOT, 'deploy/monitoring/prometheusrule.yaml'), 'utf8')) as {
    spec: { groups: { rules: { alert?: string; for?: string }[] }[] };
  };
  for (const rule of shipped.spec.groups.flatMap((g) => g.rules)) {
    const shorter = rule.alert !== undefined ? forDurations[rule.alert] : undefined;
    if (shorter !== undefined) rule.for = shorter;
  }
  return startPrometheusServer({
    jobs: [{ job: 'reconix-controller-metrics', targets: [target] }],
    ruleGroups: shipped.spec.groups,
  });
}
