// `reconix controller --kube`: the Kubernetes source wired together. API clients from a KubeConfig, state in
// ConfigMaps, events, the metrics and health endpoints, and leader election so that of several replicas one acts.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1OwnerReference,
} from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, KIND } from '../../api/deployment.js';
import type { ReconixMetrics } from '../../metrics/metrics.js';
import { serveMetrics, type MetricsServer } from '../../metrics/server.js';
import type { ReconcileDeps } from '../../observe/run.js';
import type { Logger } from '../../core/ports.js';
import { KubeStateStore } from '../../state/kube-store.js';
import { parseDeploymentId } from '../../kube/object.js';
import { NixDeploymentClient } from '../../kube/api.js';
import { KubeController } from './controller.js';
import { EventRecorder } from './events.js';
import { LeaderElector } from './leader.js';
import { ObjectReconciler, type ObjectReconcilerOptions } from './reconcile-object.js';
import type { DeploymentSecrets } from './secrets.js';
import { SourceResolver } from './source.js';
import { FluxFetcher } from './flux.js';
import { FluxSourceWatch } from './flux-watch.js';
import { KubeSecretStore } from './secret-store.js';
import { withKubeKeys } from './keys.js';
import { withoutAmbientAuthority } from './authority.js';
import { NixEvaluator } from '../../evaluate/evaluator.js';
import { CachingEvaluator } from '../../evaluate/cache.js';
import { NixLocalStore } from '../../nixstore/store.js';
import type { FleetBoard } from '../../fleet/board.js';
import { fleetRoutes } from '../../fleet/http.js';

export interface KubeRunOptions {
  kubeConfig: KubeConfig;
  /** The reconciler's dependencies; the state and client key are replaced per deployment. */
  baseDeps: ReconcileDeps;
  /**
   * Builds the dependencies of one deployment from the base, its credentials and the store of the keys the
   * controller makes for it (Secrets it owns); default: key swap only.
   */
  depsFor?: (
    base: ReconcileDeps,
    id: string,
    secrets: DeploymentSecrets,
    keyStore: KubeSecretStore,
  ) => ReconcileDeps;
  log: Logger;
  metrics: ReconixMetrics;
  scratchDir: string;
  /**
   * Build in Nix's sandbox (default true). Off only where the controller cannot make namespaces; evaluation is
   * restricted whatever this says.
   */
  buildSandbox?: boolean;
  sourceRoot?: string;
  revisionOf?: (root: string) => Promise<string | undefined>;
  /** Let a NixDeployment's spec.sourceRef name a Flux source in another namespace. */
  allowCrossNamespaceSources?: boolean;
  /** Watch only this namespace. */
  namespace?: string;
  /** Watch only objects this label selector matches (one shard; give each shard its own Lease). */
  selector?: string;
  /**
   * Let deployments without spec.awsCredentialsSecretRef use the controller's own AWS credentials (off: they
   * fail). For installs that serve one team, with credentials from the pod's identity.
   */
  allowAmbientAwsCredentials?: boolean;
  /** How often the Secrets of stalled deployments are read, to wake them when one changes. Default 10 s. */
  secretPollMs?: number;
  concurrency?: number;
  /** Address of /metrics, /healthz and /readyz. */
  listen: string;
  /** Lease for leader election; undefined runs without (a single replica). */
  leaderElection?: {
    namespace: string;
    name: string;
    leaseDurationMs?: number;
    renewDeadlineMs?: number;
    retryPeriodMs?: number;
  };
  identity?: string;
  /** Serve the fleet page and /fleet.json from this view, on the metrics server. */
  fleet?: FleetBoard;
  onStart?: ObjectReconcilerOptions['onStart'];
  /** Replace the reconciler core or destroy (tests of the machinery, latency benchmarks). */
  reconcile?: ObjectReconcilerOptions['reconcile'];
  destroy?: ObjectReconcilerOptions['destroy'];
}

export interface RunningKubeController {
  readonly identity: string;
  readonly controller: KubeController;
  readonly server: MetricsServer;
  /** Resolves when the controller stops: `lost` when it lost its lease (the process should exit and restart). */
  readonly done: Promise<'stopped' | 'lost'>;
  isLeader(): boolean;
  stop(): Promise<void>;
}

/**
 * Every NixDeployment is code from some team: its Nix is evaluated in Nix's restricted mode and its systems are
 * built in the sandbox, so that it cannot read the controller's files, environment or network.
 */
export function containNix(deps: ReconcileDeps, scratchDir: string, buildSandbox = true): ReconcileDeps {
  const { evaluator, store } = deps;
  return {
    ...deps,
    evaluator:
      evaluator instanceof NixEvaluator || evaluator instanceof CachingEvaluator
        ? evaluator.restricted()
        : evaluator,
    store:
      buildSandbox && store instanceof NixLocalStore
        ? store.sandboxed({ toolDir: `${scratchDir}/sandbox` })
        : store,
  };
}

export async function runKubeController(o: KubeRunOptions): Promise<RunningKubeController> {
  const identity = o.identity ?? `${hostname()}_${randomBytes(4).toString('hex')}`;
  const core = o.kubeConfig.makeApiClient(CoreV1Api);
  const client = new NixDeploymentClient(
    o.kubeConfig.makeApiClient(CustomObjectsApi),
    o.namespace,
    o.selector,
  );
  const events = new EventRecorder({
    api: core,
    component: 'reconix-controller',
    instance: identity,
    log: o.log,
  });
  const customObjects = o.kubeConfig.makeApiClient(CustomObjectsApi);
  const flux = new FluxFetcher({
    api: customObjects,
    dir: `${o.scratchDir}/flux-artifacts`,
    allowCrossNamespace: o.allowCrossNamespaceSources === true,
  });
  const sources = new SourceResolver({
    scratchDir: o.scratchDir,
    flux,
    ...(o.sourceRoot ? { sourceRoot: o.sourceRoot } : {}),
    ...(o.revisionOf ? { revisionOf: o.revisionOf } : {}),
  });
  // The controller's cache, once it exists (the state store below needs it, and the controller needs the store).
  const cache: { controller?: KubeController } = {};
  // The state of a deployment is owned by its NixDeployment, so that it is collected with it.
  const ownerOf = (id: string): V1OwnerReference | undefined => {
    const { namespace, name } = parseDeploymentId(id);
    const obj = cache.controller?.get(namespace, name);
    const uid = obj?.metadata.uid;
    return uid
      ? { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: KIND, name, uid, controller: true }
      : undefined;
  };
  const state = new KubeStateStore({ api: core, identity, ownerOf });
  // Keys the controller makes (EC2 key pairs, instances' host keys) go to Secrets, not to this pod's disk.
  const keyStore = new KubeSecretStore({ api: core, ownerOf });
  const baseDeps = containNix(o.baseDeps, o.scratchDir, o.buildSandbox ?? true);
  const depsFor =
    o.depsFor ??
    ((base: ReconcileDeps, _id: string, secrets: DeploymentSecrets) => ({
      ...base,
      ...(secrets.clientKey ? { clientKey: secrets.clientKey } : {}),
    }));
  const reconciler = new ObjectReconciler({
    client,
    secrets: core,
    events,
    sources,
    // Keys and credentials come from the object's Secrets; the controller's own key, files, commands and (unless
    // allowed) AWS credentials are not a source.
    depsFor: (id, secrets, destroying) => ({
      ...withoutAmbientAuthority(withKubeKeys(depsFor(baseDeps, id, secrets, keyStore), secrets), secrets, {
        allowAmbientAws: o.allowAmbientAwsCredentials === true,
        destroying,
        ownKeys: (path) => keyStore.readPath(id, path),
      }),
      state,
    }),
    log: o.log,
    metrics: o.metrics,
    ...(o.onStart ? { onStart: o.onStart } : {}),
    ...(o.fleet ? { fleet: o.fleet } : {}),
    ...(o.reconcile ? { reconcile: o.reconcile } : {}),
    ...(o.destroy ? { destroy: o.destroy } : {}),
  });
  const fluxWatch = new FluxSourceWatch({
    kubeConfig: o.kubeConfig,
    api: customObjects,
    ...(o.namespace && !o.allowCrossNamespaceSources ? { namespace: o.namespace } : {}),
    log: o.log,
    onChange: (kind, ns, name) => cache.controller?.fluxSourceChanged(kind, ns, name),
  });
  const running = new KubeController({
    kubeConfig: o.kubeConfig,
    client,
    reconciler,
    events,
    sources,
    fluxWatch,
    log: o.log,
    metrics: o.metrics,
    secrets: core,
    ...(o.secretPollMs ? { secretPollMs: o.secretPollMs } : {}),
    ...(o.concurrency ? { concurrency: o.concurrency } : {}),
  });
  cache.controller = running;

  const elector = o.leaderElection
    ? new LeaderElector({
        api: o.kubeConfig.makeApiClient(CoordinationV1Api),
        identity,
        log: o.log,
        ...o.leaderElection,
      })
    : undefined;
  // A standby replica is ready (it serves and waits); the leader once its cache is filled.
  const fleet = o.fleet;
  const server = await serveMetrics(
    o.listen,
    o.metrics.registry,
    {
      live: () => true,
      ready: () => (elector && !elector.isLeader ? true : running.synced),
    },
    fleet ? fleetRoutes(() => fleet.view()) : undefined,
  );
  o.log.info('controller started', { mode: 'kube', identity, listen: `${server.address}:${server.port}` });

  let resolveStopped: ((v: 'stopped') => void) | undefined;
  const stopped = new Promise<'stopped'>((resolve) => (resolveStopped = resolve));
  // Losing the Lease cancels the work in flight at once, before the Lease can expire and another replica act.
  const done = elector
    ? elector
        .run(() => running.start())
        .then((why) => {
          if (why === 'lost') running.abortInFlight();
          return why;
        })
    : running.start().then(() => stopped);
  const finished = done.then(async (why) => {
    await running.stop();
    return why;
  });
  return {
    identity,
    controller: running,
    server,
    done: finished,
    isLeader: () => (elector ? elector.isLeader : true),
    async stop() {
      await elector?.stop();
      resolveStopped?.('stopped');
      await running.stop();
      await server.close();
    },
  };
}
