// A real API server with the NixDeployment CRD installed, and an in-process controller against it whose local
// hosts live in a temporary directory. Everything is stopped by PID and removed in cleanup().
import { KubeConfig } from '@kubernetes/client-node';
import { mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CRD_FILE, CRD_NAME } from '../../../src/api/crd.js';
import { buildDeps } from '../../../src/cli/deps.js';
import type { AwsSettings } from '../../../src/cli/aws.js';
import { ReconixMetrics } from '../../../src/metrics/metrics.js';
import { hostLayout, LocalTargetProvider, readHostFile } from '../../../src/providers/local/index.js';
import { stopHost } from '../../../src/providers/local/sshd.js';
import { systemClock } from '../../../src/core/clock.js';
import type { Logger } from '../../../src/core/ports.js';
import {
  runKubeController,
  type KubeRunOptions,
  type RunningKubeController,
} from '../../../src/controller/kube/run.js';
import { startKube, type KubePeer } from '../../support/kube.js';
import { eventually } from '../../support/workspace.js';
import { run } from '../../../src/util/exec.js';
import { repoRoot } from '../../support/repo.js';

export { repoRoot };

/** `eventually`, with the longer default wait that an API server's round trips need. */
export function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  everyMs = 200,
): Promise<T> {
  return eventually(what, probe, timeoutMs, everyMs);
}

/** A logger that keeps every line, to search for what must never be logged. */
export function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    void lines.push(JSON.stringify({ level, msg, ...fields }));
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

export interface KubeEnv {
  kube: KubePeer;
  kubeConfig: KubeConfig;
  kubectl(args: string[], input?: string): Promise<string>;
  /** The object as JSON, or undefined when it does not exist. */
  getJson<T = Record<string, unknown>>(
    kind: string,
    name: string,
    namespace?: string,
  ): Promise<T | undefined>;
  cleanup(): Promise<void>;
}

export async function startKubeEnv(): Promise<KubeEnv> {
  const kube = await startKube();
  try {
    return await kubeEnvOf(kube);
  } catch (err) {
    await kube.stop();
    throw err;
  }
}

/**
 * The test environment around a running API server: the CRD installed and established, a kubectl that fails
 * loudly, and `kubeConfig` for the controller (by default straight to the server).
 */
export async function kubeEnvOf(kube: KubePeer, kubeConfig?: KubeConfig): Promise<KubeEnv> {
  const kubectl = async (args: string[], input?: string) => {
    const r = await kube.kubectl(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };
  await kubectl(['apply', '-f', join(repoRoot(), CRD_FILE)]);
  await established(kubectl, CRD_NAME);
  let config = kubeConfig;
  if (!config) {
    config = new KubeConfig();
    config.loadFromFile(kube.kubeconfigPath);
  }
  return {
    kube,
    kubeConfig: config,
    kubectl,
    async getJson<T>(kind: string, name: string, namespace = 'default') {
      const r = await kube.kubectl(['get', kind, name, '-n', namespace, '-o', 'json']);
      if (r.code !== 0) {
        if (/NotFound|not found/.test(r.stderr)) return undefined;
        throw new Error(`kubectl get ${kind} ${name}: ${r.stderr}`);
      }
      return JSON.parse(r.stdout) as T;
    },
    cleanup: () => kube.stop(),
  };
}

/**
 * Wait until a CRD is Established. Not `kubectl wait`: it fails at once, instead of waiting, when it reads the CRD
 * before the API server has written any condition ("<nil> is of the type <nil>").
 */
export async function established(kubectl: (args: string[]) => Promise<string>, crd: string): Promise<void> {
  const jsonpath = '{.status.conditions[?(@.type=="Established")].status}';
  await until(
    `the CRD ${crd} to be Established`,
    async () => (await kubectl(['get', `crd/${crd}`, '-o', `jsonpath=${jsonpath}`])).trim() === 'True',
    60_000,
  );
}

/** Flux source-controller's CRDs (GitRepository, OCIRepository), from its Go module, installed and established. */
export async function installFluxCrds(env: KubeEnv): Promise<void> {
  const script = join(repoRoot(), 'test/peers/flux/crds.sh');
  const dir = (await run(script, [])).stdout.trim().split('\n').pop() ?? '';
  await env.kubectl(['apply', '-f', dir]);
  for (const plural of ['gitrepositories', 'ocirepositories']) {
    await established(env.kubectl, `${plural}.source.toolkit.fluxcd.io`);
  }
}

export interface ControllerUnderTest {
  running: RunningKubeController;
  stateDir: string;
  hostsDir: string;
  log: Logger & { lines: string[] };
  /** Reconciles started, with the generation they started at. */
  starts: { id: string; generation: number; at: number }[];
  cleanup(): Promise<void>;
}

export async function startController(
  env: KubeEnv,
  extra: Partial<KubeRunOptions> & { baseAws?: AwsSettings } = {},
): Promise<ControllerUnderTest> {
  const { baseAws, ...options } = extra;
  const stateDir = await mkdtemp(join(tmpdir(), 'reconix-kube-ctl-'));
  const hostsDir = join(stateDir, 'hosts');
  const log = capturingLogger();
  const starts: ControllerUnderTest['starts'] = [];
  // Local hosts on 127.79.x.y, apart from other tests' hosts.
  const local = new LocalTargetProvider({ baseDir: hostsDir, addressPrefix: '127.79' });
  const baseDeps = await buildDeps({
    stateDir,
    log,
    extraProviders: [local],
    ...(baseAws ? { aws: baseAws } : {}),
  });
  const running = await runKubeController({
    kubeConfig: env.kubeConfig,
    baseDeps,
    log,
    metrics: new ReconixMetrics({ processMetrics: false }),
    scratchDir: join(stateDir, 'scratch'),
    listen: '127.0.0.1:0',
    onStart: (id, obj) => void starts.push({ id, generation: obj.metadata.generation ?? 0, at: Date.now() }),
    ...options,
  });
  return {
    running,
    stateDir,
    hostsDir,
    log,
    starts,
    async cleanup() {
      await running.stop();
      await stopHosts(hostsDir);
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** Stop, by PID, every local host the controller left running: a test may end with its objects in place. */
async function stopHosts(hostsDir: string): Promise<void> {
  for (const name of await readdir(hostsDir).catch(() => [] as string[])) {
    const record = await readHostFile(hostLayout(join(hostsDir, name)));
    if (record?.pid !== undefined) await stopHost(record.pid, hostLayout(record.dir), systemClock);
  }
}

/** What a local host of the controller says about itself, through its directory. */
export async function hostActivations(hostDir: string): Promise<string[]> {
  const text = await readFile(join(hostDir, 'nix/var/reconix/activations.log'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean);
}

export async function hostCurrentSystem(hostDir: string): Promise<string | undefined> {
  const record = JSON.parse(await readFile(join(hostDir, 'host.json'), 'utf8')) as { pid?: number };
  if (!record.pid) return undefined;
  return readlink(`/proc/${record.pid}/root/run/current-system`).catch(() => undefined);
}

/** A Secret holding an SSH private key under `id_ed25519`, for spec.sshKeySecretRef. */
export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

/** The condition of `type` in an object's status, if it has one. */
export const cond = (o: { status?: { conditions?: Condition[] } } | undefined, type: string) =>
  o?.status?.conditions?.find((c) => c.type === type);

export async function sshKeySecret(
  env: KubeEnv,
  namespace: string,
  name: string,
  privateKey: Buffer,
): Promise<void> {
  await env.kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace },
      data: { id_ed25519: privateKey.toString('base64') },
    }),
  );
}
