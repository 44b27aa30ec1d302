// `reconix controller --kube`: real clients for Kubernetes mode, and the process's life around the controller.
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ReconixMetrics } from '../metrics/metrics.js';
import { gitRevision } from '../source/load.js';
import { runKubeController, type KubeRunOptions } from '../controller/kube/run.js';
import { logger, type LogFormat } from '../util/log.js';
import { buildDeps, connectionPool, evaluationCounts, type DepsTimeouts } from './deps.js';
import type { AwsSettings } from './aws.js';
import { lazyAws, type AwsBundle } from './lazy-aws.js';
import { createHash } from 'node:crypto';
import { FleetBoard } from '../fleet/board.js';

export interface KubeCommandOptions {
  stateDir: string;
  /** SSH connections kept open between resyncs while unused this long; 0 closes them after each reconcile. */
  keepConnectionsMs?: number;
  listen: string;
  concurrency: number;
  kubeconfig?: string;
  namespace?: string;
  sourceRoot?: string;
  leaderElect: boolean;
  /** Build in Nix's sandbox (on unless --no-build-sandbox). */
  buildSandbox: boolean;
  leaderElectionNamespace?: string;
  /** The Lease's name; default reconix-controller, suffixed with a hash of --selector when there is one. */
  leaderElectionId?: string;
  /** Only NixDeployments this label selector matches. */
  selector?: string;
  /** Lease timings, in seconds (controller-runtime's 15/10/2 by default). */
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  /** JSON or text logs; default: text on a terminal, else JSON. */
  logFormat?: LogFormat | undefined;
  /** false: evaluate at every reconcile (--no-eval-cache). */
  evalCache?: boolean | undefined;
  /** Deployments without spec.awsCredentialsSecretRef may use the controller's AWS credentials. */
  allowAmbientAwsCredentials: boolean;
  /** Serve the fleet page and /fleet.json on --listen. */
  fleetPage?: boolean;
  allowCrossNamespaceSources: boolean;
  /** What a program embedding the command adds to the AWS clients (hooks, where SSH reaches ec2 machines). */
  aws?: AwsSettings;
  timeouts?: DepsTimeouts;
}

/** In a pod, the namespace it runs in; the Lease lives there. */
function podNamespace(): string {
  return process.env.POD_NAMESPACE ?? 'reconix-system';
}

export async function kubeControllerCommand(o: KubeCommandOptions): Promise<void> {
  const log = logger(o.logFormat);
  const kubeConfig = new KubeConfig();
  if (o.kubeconfig) kubeConfig.loadFromFile(o.kubeconfig);
  else kubeConfig.loadFromDefault(); // $KUBECONFIG, ~/.kube/config, or the pod's service account
  const baseDeps = await buildDeps({
    stateDir: o.stateDir,
    log,
    evalCache: o.evalCache !== false,
    ...(o.timeouts ? { timeouts: o.timeouts } : {}),
    ...(o.keepConnectionsMs ? { keepConnectionsMs: o.keepConnectionsMs } : {}),
  });
  const depsFor = awsDepsFor(o.stateDir, { ...o.aws });
  const metrics = new ReconixMetrics();
  const pool = connectionPool(baseDeps);
  if (pool) metrics.watchConnections(() => pool.counts());
  const evaluations = evaluationCounts(baseDeps);
  if (evaluations) metrics.watchEvaluations(evaluations);
  const running = await runKubeController({
    kubeConfig,
    baseDeps,
    depsFor,
    log,
    metrics,
    scratchDir: path.join(o.stateDir, 'scratch'),
    buildSandbox: o.buildSandbox,
    revisionOf: gitRevision,
    listen: o.listen,
    concurrency: o.concurrency,
    allowAmbientAwsCredentials: o.allowAmbientAwsCredentials,
    ...(o.fleetPage ? { fleet: new FleetBoard() } : {}),
    allowCrossNamespaceSources: o.allowCrossNamespaceSources,
    ...(o.sourceRoot ? { sourceRoot: path.resolve(o.sourceRoot) } : {}),
    ...(o.namespace ? { namespace: o.namespace } : {}),
    ...(o.selector ? { selector: o.selector } : {}),
    ...(process.env.POD_NAME ? { identity: `${process.env.POD_NAME}_${process.pid}` } : {}),
    ...(o.leaderElect
      ? {
          leaderElection: {
            namespace: o.leaderElectionNamespace ?? podNamespace(),
            name: leaseName(o.leaderElectionId, o.selector),
            leaseDurationMs: o.leaseDuration * 1000,
            renewDeadlineMs: o.renewDeadline * 1000,
            retryPeriodMs: o.retryPeriod * 1000,
          },
        }
      : {}),
  });
  const stop = async () => {
    log.info('controller stopping');
    await running.stop();
    pool?.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  // A replica that lost its lease may be acting on stale views: exit and let the pod restart, as
  // controller-runtime does.
  if ((await running.done) === 'lost') {
    await running.server.close();
    process.exit(1);
  }
}

/**
 * Each shard elects its own leader: without --leader-election-id, a controller with a selector takes a Lease named
 * after a hash of it, so shards never wait for each other and replicas of one shard share one Lease.
 */
export function leaseName(explicit: string | undefined, selector: string | undefined): string {
  if (explicit) return explicit;
  if (!selector) return 'reconix-controller';
  return `reconix-controller-${createHash('sha256').update(selector.trim()).digest('hex').slice(0, 10)}`;
}

/**
 * Per-deployment dependencies in Kubernetes mode: the SSH key from spec.sshKeySecretRef, and, for a deployment with
 * spec.awsCredentialsSecretRef, AWS clients of its own built from those credentials (kept while they stay the same).
 */
export function awsDepsFor(
  stateDir: string,
  settings: AwsSettings = {},
): NonNullable<KubeRunOptions['depsFor']> {
  const awsByKey = new Map<string, AwsBundle>();
  return (base, id, secrets, keyStore) => {
    const withKey = { ...base, ...(secrets.clientKey ? { clientKey: secrets.clientKey } : {}) };
    const creds = secrets.aws;
    if (!creds) return withKey;
    const key = `${id}\0${creds.accessKeyId}\0${createHash('sha256').update(creds.secretAccessKey).digest('hex')}`;
    let aws = awsByKey.get(key);
    if (!aws) {
      for (const k of awsByKey.keys()) if (k.startsWith(`${id}\0`)) awsByKey.delete(k);
      aws = lazyAws(stateDir, {
        ...settings,
        secrets: keyStore,
        credentials: {
          accessKeyId: creds.accessKeyId,
          secretAccessKey: creds.secretAccessKey,
          ...(creds.sessionToken ? { sessionToken: creds.sessionToken } : {}),
        },
      });
      awsByKey.set(key, aws);
    }
    return {
      ...withKey,
      providers: { ...withKey.providers, ec2: aws.provider },
      resources: aws.resources,
      binaryCaches: aws.caches,
      prepare: aws.prepare,
    };
  };
}
