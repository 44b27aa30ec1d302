// `reconix controller`: the reconcile loop run continuously, on a directory of manifests or (--kube) on the
// NixDeployments of a Kubernetes API server.
import type { Command } from 'commander';
import path from 'node:path';
import { reconcileDeployment } from '../../reconcile/reconciler.js';
import { gitRevision, loadDeployments } from '../../source/load.js';
import { logger, type LogFormat } from '../../util/log.js';
import { buildDeps, connectionPool, evaluationCounts } from '../deps.js';
import { parseDuration } from '../../util/duration.js';
import type { KubeCommandOptions } from '../kube.js';
import type { ReconcileRequest } from '../../core/request.js';
import type { ReconcileReport } from '../../report/report.js';
import { globals, timeoutGlobals, type Cli } from '../wiring/cli.js';
import { int } from '../wiring/options.js';
import { checkFleetListen } from '../../fleet/http.js';

type ControllerOptions = {
  dir?: string;
  kube?: boolean;
  stuckAfter: string;
  keepConnections: string;
  fleetPagePublic: boolean;
} & Omit<KubeCommandOptions, 'stateDir' | 'timeouts' | 'keepConnectionsMs'>;

export function controllerCommand(cli: Cli): Command {
  return cli.program
    .command('controller')
    .description(
      'reconcile continuously: manifests in a directory (a git-sync link), or NixDeployments (--kube)',
    )
    .option('--dir <dir>', 'directory of NixDeployment manifests; may be a symlink swapped by git-sync')
    .option('--listen <addr>', 'address for /metrics and /healthz', '127.0.0.1:9402')
    .option(
      '--fleet-page',
      'serve a read-only page of every deployment and machine at / and its data at /fleet.json, on --listen; ' +
        'it has no authentication, so --listen must be a loopback address',
      false,
    )
    .option('--fleet-page-public', 'allow --fleet-page on a non-loopback --listen address', false)
    .option('--concurrency <n>', 'deployments reconciled at once', int, 4)
    .option(
      '--stuck-after <duration>',
      '(--dir) /healthz fails while a reconcile runs longer than this',
      '1h',
    )
    .option(
      '--keep-connections <duration>',
      'keep SSH connections open between resyncs while unused this long (a resync then reuses them); ' +
        '0s closes them after every reconcile',
      '15m',
    )
    .option(
      '--kube',
      'Kubernetes mode: watch NixDeployment objects; state, status and events in the API server',
    )
    .option('--kubeconfig <file>', '(--kube) kubeconfig; default $KUBECONFIG, ~/.kube/config or in-cluster')
    .option('--namespace <ns>', '(--kube) watch only this namespace')
    .option('--source-root <dir>', '(--kube) what spec.network.files are relative to (a git-sync link)')
    .option('--no-leader-elect', '(--kube) act without a leader Lease (one replica only)')
    .option('--leader-election-namespace <ns>', '(--kube) namespace of the Lease; default $POD_NAMESPACE')
    .option(
      '--leader-election-id <name>',
      '(--kube) name of the Lease; default reconix-controller, with a hash of --selector appended if given',
    )
    .option('--selector <labels>', '(--kube) only NixDeployments this label selector matches (a shard)')
    .option('--lease-duration <s>', '(--kube) seconds a leader holds the Lease unrenewed', int, 15)
    .option('--renew-deadline <s>', '(--kube) seconds a leader keeps trying to renew', int, 10)
    .option('--retry-period <s>', '(--kube) seconds between tries', int, 2)
    .option(
      '--allow-ambient-aws-credentials',
      "(--kube) deployments without spec.awsCredentialsSecretRef use the controller's AWS credentials",
      false,
    )
    .option(
      '--allow-cross-namespace-sources',
      "(--kube) a NixDeployment's spec.sourceRef may name a Flux source in another namespace",
      false,
    )
    .option(
      '--no-build-sandbox',
      "(--kube) build outside Nix's sandbox (where the controller cannot make namespaces)",
    )
    .action(async (o: ControllerOptions) => {
      const { stateDir, restrictEval, logFormat, evalCache } = globals(cli);
      let keepConnectionsMs: number;
      try {
        keepConnectionsMs = parseDuration(o.keepConnections);
      } catch (err) {
        return cli.program.error(`error: --keep-connections: ${(err as Error).message}`);
      }
      if (o.fleetPage) {
        try {
          checkFleetListen(o.listen, o.fleetPagePublic);
        } catch (err) {
          return cli.program.error(`error: ${(err as Error).message}`);
        }
      }
      // The Kubernetes client is large: load it only for Kubernetes mode.
      if (o.kube)
        return (await import('../kube.js')).kubeControllerCommand({
          ...o,
          stateDir,
          logFormat,
          aws: { ...cli.extras.aws },
          timeouts: timeoutGlobals(cli),
          evalCache,
          keepConnectionsMs,
        });
      if (!o.dir) return cli.program.error('error: controller needs --dir, or --kube');
      await directoryController(
        cli,
        { ...o, dir: o.dir, evalCache, keepConnectionsMs },
        stateDir,
        restrictEval === true,
        logFormat,
      );
    });
}

async function directoryController(
  cli: Cli,
  o: ControllerOptions & { dir: string; evalCache: boolean | undefined; keepConnectionsMs: number },
  stateDir: string,
  restrictEval: boolean,
  logFormat: LogFormat | undefined,
): Promise<void> {
  const log = logger(logFormat);
  const deps = await buildDeps({
    stateDir,
    log,
    aws: { ...cli.extras.aws },
    restrictEval,
    timeouts: timeoutGlobals(cli),
    evalCache: o.evalCache !== false,
    keepConnectionsMs: o.keepConnectionsMs,
  });
  // Metrics and the file watcher are loaded only by the controller: one-shot commands start faster.
  const [{ ReconixMetrics }, { serveMetrics }, { DirectoryController }, fleetPage] = await Promise.all([
    import('../../metrics/metrics.js'),
    import('../../metrics/server.js'),
    import('../../controller/directory/controller.js'),
    o.fleetPage ? fleetModules() : undefined,
  ]);
  const fleet = fleetPage ? new fleetPage.FleetBoard() : undefined;
  const reconcile = (req: ReconcileRequest) => reconcileDeployment(req, deps);
  const metrics = new ReconixMetrics();
  const pool = connectionPool(deps);
  if (pool) metrics.watchConnections(() => pool.counts());
  const evaluations = evaluationCounts(deps);
  if (evaluations) metrics.watchEvaluations(evaluations);
  const scratch = path.join(stateDir, 'scratch');
  const controller = new DirectoryController({
    dir: o.dir,
    load: (root) => loadDeployments(root, scratch),
    reconcile: fleet ? fleet.track(reconcile) : reconcile,
    ...(fleet
      ? { onReport: (r: ReconcileReport) => fleet.finished(r), onRemoved: (n: string) => fleet.remove(n) }
      : {}),
    revisionOf: gitRevision,
    log,
    metrics,
    state: deps.state,
    concurrency: o.concurrency,
    stuckAfterMs: parseDuration(o.stuckAfter),
  });
  const server = await serveMetrics(
    o.listen,
    metrics.registry,
    { live: () => controller.liveness(), ready: () => controller.readiness() },
    fleet && fleetPage ? fleetPage.fleetRoutes(() => fleet.view()) : undefined,
  );
  log.info('controller started', {
    dir: o.dir,
    listen: `${server.address}:${server.port}`,
    ...(fleet ? { fleetPage: `http://${server.address}:${server.port}/` } : {}),
  });
  await controller.start();
  const stop = async () => {
    log.info('controller stopping');
    await controller.stop();
    pool?.close();
    await server.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

async function fleetModules() {
  const [{ FleetBoard }, { fleetRoutes }] = await Promise.all([
    import('../../fleet/board.js'),
    import('../../fleet/http.js'),
  ]);
  return { FleetBoard, fleetRoutes };
}
