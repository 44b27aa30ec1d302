// The reconix command: the reconciler run once (deploy, plan, check...) or continuously (controller).
import { Command, InvalidArgumentError, Option } from 'commander';
import path from 'node:path';
import type { ReconcileDeps } from '../observe/run.js';
import {
  deleteGeneration,
  destroy,
  listGenerations,
  power,
  rollback,
  sshAccess,
  sshAccessAll,
  type SshAccess,
} from '../apply/operations.js';
import { reconcileDeployment } from '../reconcile/reconciler.js';
import { exitCode } from '../report/exit.js';
import { requestFor, type LoadedDeployment, type RequestOverrides } from '../source/deployments.js';
import { gitRevision, loadDeployments } from '../source/load.js';
import { jsonLogger, silentLogger } from '../util/log.js';
import type { AwsSettings } from './aws.js';
import { checkResults, renderCheck } from './check.js';
import { buildDeps, clientKeyFile, defaultStateDir, type CliExtras } from './deps.js';
import type { KubeCommandOptions } from './kube.js';
import type { SshTarget } from './ssh.js';
import { infoOutput, renderInfo } from './info.js';
import { deployOutput, jsonDocument, planOutput } from './output.js';
import { renderDeploy, renderGenerations, renderPlan, renderResults, shortPath } from './render.js';

interface Globals {
  file: string;
  deployment?: string;
  stateDir: string;
  verbose?: boolean;
  awsEndpoint?: string;
}

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
  return n;
};
const list = (v: string, prev: string[] = []) => [...prev, ...v.split(',').filter(Boolean)];

const program = new Command('reconix')
  .description('Deploy NixOS machines from Nix network files, and keep them as the spec says.')
  .option('-f, --file <path>', 'NixDeployment manifest file, or a directory of them', 'reconix.yaml')
  .option('-d, --deployment <name>', 'only this deployment of the manifests')
  .option('--state-dir <dir>', 'where Reconix records what it created and activated', defaultStateDir())
  .option('-v, --verbose', 'structured logs on stderr')
  .option('--aws-endpoint <url>', 'an AWS-compatible endpoint instead of AWS (default: $AWS_ENDPOINT_URL)')
  .showHelpAfterError();

/** What runCli's caller adds to the clients the commands build. */
let extras: CliExtras = {};

function globals(): Globals {
  return program.opts<Globals>();
}

async function setup(
  aws: AwsSettings = {},
): Promise<{ deps: ReconcileDeps; deployments: LoadedDeployment[]; g: Globals }> {
  const g = globals();
  const log = g.verbose ? jsonLogger('info') : silentLogger;
  const result = await loadDeployments(path.resolve(g.file), path.join(g.stateDir, 'scratch'));
  for (const e of result.errors) process.stderr.write(`error: ${e.path}: ${e.message}\n`);
  let deployments = result.deployments;
  if (g.deployment) deployments = deployments.filter((d) => d.name === g.deployment);
  if (deployments.length === 0) {
    process.stderr.write(
      result.errors.length > 0
        ? 'error: no valid NixDeployment to work on\n'
        : `error: no NixDeployment${g.deployment ? ` named ${g.deployment}` : ''} in ${g.file}\n`,
    );
    process.exit(2);
  }
  const deps = await buildDeps({ stateDir: g.stateDir, log, aws: { ...awsGlobals(g), ...aws } });
  return { deps, deployments, g };
}

function awsGlobals(g: Globals): AwsSettings {
  return {
    ...extras.aws,
    ...(g.awsEndpoint ? { endpoint: g.awsEndpoint } : {}),
  };
}

/** What deploy (and plan, to show it) may do to cloud objects. */
function cloudFlags(o: Record<string, unknown>): AwsSettings {
  return {
    allowReboot: Boolean(o.allowReboot),
    allowRecreate: Boolean(o.allowRecreate),
    killObsolete: Boolean(o.killObsolete),
  };
}

const cloudOptions = (c: Command) =>
  c
    .option('--allow-reboot', 'change instance types by stopping and starting instances')
    .option('--allow-recreate', 'replace cloud objects that cannot change in place')
    .option('--kill-obsolete', 'destroy hosts and resources that left the spec');

function overrides(o: Record<string, unknown>): RequestOverrides {
  return {
    ...(o.include ? { include: o.include as string[] } : {}),
    ...(o.exclude ? { exclude: o.exclude as string[] } : {}),
    ...(o.maxParallel ? { maxParallel: o.maxParallel as number } : {}),
    ...(o.mode ? { mode: o.mode as RequestOverrides['mode'] & string } : {}),
    ...(o.killObsolete ? { killObsolete: true } : {}),
    ...(o.alwaysActivate ? { alwaysActivate: true } : {}),
    ...(o.createOnly ? { stopAfter: 'create' as const } : {}),
    ...(o.buildOnly ? { stopAfter: 'build' as const } : {}),
    ...(o.copyOnly ? { stopAfter: 'copy' as const } : {}),
  };
}

const selection = (c: Command) =>
  c
    .option('--include <machines>', 'only these machines (comma-separated, globs allowed)', list)
    .option('--exclude <machines>', 'not these machines (comma-separated, globs allowed)', list);

const print = (s: string) => process.stdout.write(s.endsWith('\n') ? s : s + '\n');

cloudOptions(selection(program.command('plan')))
  .description('show what deploy would do; exit 0: no changes, 1: changes, 2: error')
  .option('--json', 'print the plan as JSON')
  .action(async (o: Record<string, unknown>) => {
    const { deps, deployments } = await setup(cloudFlags(o));
    let code = 0;
    const out = [];
    for (const d of deployments) {
      const report = await reconcileDeployment(
        requestFor(d.name, d.spec, d.source, 'plan', overrides(o)),
        deps,
      );
      code = Math.max(code, exitCode(report));
      if (o.json) out.push(planOutput(report));
      else print(renderPlan(report));
    }
    if (o.json) print(jsonDocument(out));
    process.exitCode = code;
  });

cloudOptions(selection(program.command('deploy')))
  .description('create missing hosts and cloud resources, build, copy and activate what changed')
  .option('--max-parallel <n>', 'machines copied and activated at once', int)
  .addOption(
    new Option('--mode <mode>', 'how to activate').choices(['switch', 'boot', 'test', 'dry-activate']),
  )
  .option('--always-activate', 'activate even machines that already run their system')
  .addOption(
    new Option('--create-only', 'create missing hosts and cloud resources, then stop').conflicts([
      'buildOnly',
      'copyOnly',
    ]),
  )
  .addOption(
    new Option(
      '--build-only',
      "build every selected machine's system here; create and activate nothing",
    ).conflicts('copyOnly'),
  )
  .option('--copy-only', 'create, build and copy to the hosts, but activate nothing')
  .option('--json', 'print the report as JSON')
  .action(async (o: Record<string, unknown>) => {
    const { deps, deployments } = await setup(cloudFlags(o));
    let code = 0;
    const out = [];
    for (const d of deployments) {
      const report = await reconcileDeployment(
        requestFor(d.name, d.spec, d.source, 'deploy', overrides(o)),
        deps,
      );
      if (o.json) out.push(deployOutput(report));
      else print(renderDeploy(report));
      code = Math.max(code, exitCode(report));
    }
    if (o.json) print(jsonDocument(out));
    process.exitCode = code;
  });

selection(program.command('check'))
  .description('report per machine: exists, up, reachable, drifted; exit code is a bitmask (see README)')
  .option('--json', 'print the results as JSON')
  .action(async (o: Record<string, unknown>) => {
    const { deps, deployments } = await setup();
    let code = 0;
    const out = [];
    for (const d of deployments) {
      const report = await reconcileDeployment(
        requestFor(d.name, d.spec, d.source, 'check', overrides(o)),
        deps,
      );
      const res = checkResults(report);
      code |= res.exitCode;
      if (o.json) out.push(res);
      else print(`Deployment ${d.name}:\n${renderCheck(report)}`);
    }
    if (o.json) print(jsonDocument(out));
    process.exitCode = code;
  });

selection(program.command('info'))
  .description('a table per machine: target, address, activated system, drift, last deploy')
  .option('--json', 'print as JSON')
  .action(async (o: Record<string, unknown>) => {
    const { deps, deployments } = await setup();
    const out = [];
    for (const d of deployments) {
      const report = await reconcileDeployment(
        requestFor(d.name, d.spec, d.source, 'check', overrides(o)),
        deps,
      );
      const info = infoOutput(report, await deps.state.read(d.name));
      if (o.json) out.push(info);
      else print(renderInfo(info));
    }
    if (o.json) print(jsonDocument(out));
  });

selection(program.command('list-generations'))
  .description("list the system profile's generations of each machine")
  .action(async (o: Record<string, unknown>) => {
    const { deps, deployments } = await setup();
    for (const d of deployments) {
      const results = await listGenerations(requestFor(d.name, d.spec, d.source, 'plan', overrides(o)), deps);
      print(renderGenerations(results));
      if (results.some((r) => !r.ok)) process.exitCode = 1;
    }
  });

selection(program.command('rollback <generation>'))
  .description(
    'switch machines to an earlier (or later) generation and hold them there until the spec changes',
  )
  .action(async (gen: string, o: Record<string, unknown>) => {
    const { deps, deployments } = await setup();
    for (const d of deployments) {
      const results = await rollback(
        requestFor(d.name, d.spec, d.source, 'deploy', overrides(o)),
        deps,
        int(gen),
      );
      print(
        renderResults(
          'switched to',
          results,
          (v) => `${shortPath(v.system)}${v.copied ? ` (re-copied ${v.copied} paths)` : ''}`,
        ),
      );
      if (results.some((r) => !r.ok)) process.exitCode = 1;
    }
  });

selection(program.command('delete-generation <generation>'))
  .description('delete a generation of the system profile on machines')
  .action(async (gen: string, o: Record<string, unknown>) => {
    const { deps, deployments } = await setup();
    for (const d of deployments) {
      const results = await deleteGeneration(
        requestFor(d.name, d.spec, d.source, 'deploy', overrides(o)),
        deps,
        int(gen),
      );
      print(renderResults('deleted generation', results, String));
      if (results.some((r) => !r.ok)) process.exitCode = 1;
    }
  });

selection(program.command('destroy'))
  .description('destroy the hosts and cloud resources Reconix created for the deployment and forget the rest')
  .option('--delete-nonempty-buckets', 'delete S3 buckets with everything in them (else they are refused)')
  .action(async (o: Record<string, unknown>) => {
    const { deps, deployments } = await setup();
    for (const d of deployments) {
      const results = await destroy(requestFor(d.name, d.spec, d.source, 'deploy', overrides(o)), deps, {
        deleteNonEmptyBuckets: Boolean(o.deleteNonemptyBuckets),
      });
      print(renderResults('destroyed', results, (env) => `(${env})`));
      if (results.some((r) => !r.ok)) process.exitCode = 1;
    }
  });

for (const [op, verb, about] of [
  ['stop', 'stopped', 'stop the machines Reconix created (instances, local hosts)'],
  ['start', 'started', 'start stopped machines again'],
  ['reboot', 'rebooted', 'reboot the machines Reconix created'],
] as const) {
  selection(program.command(op))
    .description(about)
    .action(async (o: Record<string, unknown>) => {
      const { deps, deployments } = await setup();
      for (const d of deployments) {
        const results = await power(requestFor(d.name, d.spec, d.source, 'deploy', overrides(o)), deps, op);
        print(renderResults(verb, results, (env) => `(${env})`));
        if (results.some((r) => !r.ok)) process.exitCode = 1;
      }
    });
}

program
  .command('ssh <machine> [command...]')
  .description("a shell (or a command) on a machine, with Reconix's key and the machine's pinned host key")
  .action(async (machine: string, command: string[]) => {
    const { deps, deployments, g } = await setup();
    if (deployments.length > 1) {
      return program.error(`error: ${g.file} has several deployments: choose one with -d`);
    }
    const d = deployments[0]!;
    const access = await sshAccess(requestFor(d.name, d.spec, d.source, 'plan'), deps, machine);
    const target = sshTarget(machine, access, g.stateDir);
    if (target instanceof Error) return program.error(`error: ${target.message}`);
    const { runSsh } = await import('./ssh.js');
    process.exitCode = await runSsh(target, command);
  });

selection(program.command('exec <command...>'))
  .description('run a command on every selected machine over ssh, output prefixed with the machine name')
  .option('--max-parallel <n>', 'machines at once', int)
  .action(async (command: string[], o: Record<string, unknown>) => {
    const { deps, deployments, g } = await setup();
    const { execAll } = await import('./ssh.js');
    let failed = 0;
    for (const d of deployments) {
      const req = requestFor(d.name, d.spec, d.source, 'plan', overrides(o));
      const targets = [];
      for (const [machine, access] of await sshAccessAll(req, deps)) {
        const target = access instanceof Error ? access : sshTarget(machine, access, g.stateDir);
        if (target instanceof Error) {
          process.stderr.write(`${machine}: ${target.message}\n`);
          failed++;
        } else targets.push(target);
      }
      if (targets.length === 0) continue;
      const write = (stream: NodeJS.WriteStream) => (text: string) => void stream.write(text);
      const codes = await execAll(
        targets,
        command,
        req.maxParallel,
        write(process.stdout),
        write(process.stderr),
      );
      for (const [machine, code] of codes) {
        if (code === 0) continue;
        failed++;
        process.stderr.write(
          `${machine}: ${code === 255 ? 'ssh failed (exit code 255)' : `exit code ${code}`}\n`,
        );
      }
    }
    if (failed > 0) process.exitCode = 1;
  });

/** The ssh target of a machine, or why there is none yet. */
function sshTarget(machine: string, access: SshAccess, stateDir: string): SshTarget | Error {
  if (!access.hostKey) {
    return new Error(`${machine}: no host key is pinned yet (deploy it first, or set hostPublicKey)`);
  }
  return {
    machine,
    access: { ...access, hostKey: access.hostKey },
    keyFile: access.keyFile ?? clientKeyFile(stateDir),
  };
}

type ControllerOptions = { dir?: string; kube?: boolean; stuckAfter: string } & Omit<
  KubeCommandOptions,
  'stateDir'
>;

program
  .command('controller')
  .description(
    'reconcile continuously: manifests in a directory (a git-sync link), or NixDeployments (--kube)',
  )
  .option('--dir <dir>', 'directory of NixDeployment manifests; may be a symlink swapped by git-sync')
  .option('--listen <addr>', 'address for /metrics and /healthz', '127.0.0.1:9402')
  .option('--concurrency <n>', 'deployments reconciled at once', int, 4)
  .option('--stuck-after <duration>', '(--dir) /healthz fails while a reconcile runs longer than this', '1h')
  .option(
    '--kube',
    'Kubernetes mode: watch NixDeployment objects; state, status and events in the API server',
  )
  .option('--kubeconfig <file>', '(--kube) kubeconfig; default $KUBECONFIG, ~/.kube/config or in-cluster')
  .option('--namespace <ns>', '(--kube) watch only this namespace')
  .option('--source-root <dir>', '(--kube) what spec.network.files are relative to (a git-sync link)')
  .option('--no-leader-elect', '(--kube) act without a leader Lease (one replica only)')
  .option('--leader-election-namespace <ns>', '(--kube) namespace of the Lease; default $POD_NAMESPACE')
  .option('--leader-election-id <name>', '(--kube) name of the Lease', 'reconix-controller')
  .option('--lease-duration <s>', '(--kube) seconds a leader holds the Lease unrenewed', int, 15)
  .option('--renew-deadline <s>', '(--kube) seconds a leader keeps trying to renew', int, 10)
  .option('--retry-period <s>', '(--kube) seconds between tries', int, 2)
  .action(async (o: ControllerOptions) => {
    const g = globals();
    // The Kubernetes client is large: load it only for Kubernetes mode.
    if (o.kube) return (await import('./kube.js')).kubeControllerCommand({ ...o, stateDir: g.stateDir });
    if (!o.dir) return program.error('error: controller needs --dir, or --kube');
    const log = jsonLogger('info');
    const deps = await buildDeps({ stateDir: g.stateDir, log, aws: { ...extras.aws } });
    // Metrics and the file watcher are loaded only by the controller: one-shot commands start faster.
    const [{ ReconixMetrics }, { serveMetrics }, { DirectoryController }, { parseDuration }] =
      await Promise.all([
        import('../metrics/metrics.js'),
        import('../metrics/server.js'),
        import('../controller/directory/controller.js'),
        import('../util/duration.js'),
      ]);
    const metrics = new ReconixMetrics();
    const scratch = path.join(g.stateDir, 'scratch');
    const controller = new DirectoryController({
      dir: o.dir,
      load: (root) => loadDeployments(root, scratch),
      reconcile: (req) => reconcileDeployment(req, deps),
      revisionOf: gitRevision,
      log,
      metrics,
      state: deps.state,
      concurrency: o.concurrency,
      stuckAfterMs: parseDuration(o.stuckAfter),
    });
    const server = await serveMetrics(o.listen, metrics.registry, {
      live: () => controller.liveness(),
      ready: () => controller.readiness(),
    });
    log.info('controller started', { dir: o.dir, listen: `${server.address}:${server.port}` });
    await controller.start();
    const stop = async () => {
      log.info('controller stopping');
      await controller.stop();
      await server.close();
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop());
    process.on('SIGINT', () => void stop());
  });

/** Run the reconix command on argv (shaped like process.argv), once per process, with what the caller adds. */
export async function runCli(argv: readonly string[], add: CliExtras = {}): Promise<void> {
  extras = add;
  await program.parseAsync([...argv]).catch((err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  });
}
