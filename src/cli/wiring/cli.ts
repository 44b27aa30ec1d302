// The program and its global options, and what every one-shot command starts with: the manifests loaded, the
// deployments -d selects, the clients built.
import { Command, Option } from 'commander';
import path from 'node:path';
import type { ReconcileRequest } from '../../core/request.js';
import type { ReconcileDeps } from '../../observe/run.js';
import { requestFor, type LoadedDeployment } from '../../source/deployments.js';
import { loadDeployments } from '../../source/load.js';
import { LOG_FORMATS, logger, silentLogger, type LogFormat } from '../../util/log.js';
import type { AwsSettings } from '../aws.js';
import { buildDeps, defaultStateDir, type CliExtras, type DepsTimeouts } from '../deps.js';
import { cloudFlags, memoryFlag, overrides, timeoutFlag, workersFlag, type Options } from './options.js';

export interface Globals {
  file: string;
  deployment?: string;
  stateDir: string;
  verbose?: boolean;
  logFormat?: LogFormat;
  awsEndpoint?: string;
  restrictEval?: boolean;
  /** Deadlines, in ms (commander fills in the defaults). */
  evaluationTimeout?: number;
  buildTimeout?: number;
  copyTimeout?: number;
  /** Bytes (Infinity: unlimited) and processes of the evaluation of systems. */
  evalMemory?: number;
  evalWorkers?: number;
  /** false with --no-eval-cache. */
  evalCache?: boolean;
}

/** The program the commands register on, with what the caller of runCli adds to the clients. */
export interface Cli {
  readonly program: Command;
  readonly extras: CliExtras;
}

/** The deployments a one-shot command works on, and how to ask for one of them. */
export interface Selection {
  deps: ReconcileDeps;
  deployments: LoadedDeployment[];
  globals: Globals;
  /** The command prints JSON documents instead of text. */
  json: boolean;
  /** The request of a deployment for op, with the command line's overrides on top of its manifest's. */
  request(d: LoadedDeployment, op: ReconcileRequest['op']): ReconcileRequest;
}

export function newCli(extras: CliExtras): Cli {
  const program = new Command('reconix')
    .description('Deploy NixOS machines from Nix network files, and keep them as the spec says.')
    .option('-f, --file <path>', 'NixDeployment manifest file, or a directory of them', 'reconix.yaml')
    .option('-d, --deployment <name>', 'only this deployment of the manifests')
    .option('--state-dir <dir>', 'where Reconix records what it created and activated', defaultStateDir())
    .option('-v, --verbose', 'structured logs on stderr')
    .addOption(
      new Option(
        '--log-format <format>',
        'logs (-v, controller) as JSON lines or text; default: text on a terminal, else JSON',
      ).choices(LOG_FORMATS),
    )
    .option('--aws-endpoint <url>', 'an AWS-compatible endpoint instead of AWS (default: $AWS_ENDPOINT_URL)')
    .option('--restrict-eval', "evaluate networks in Nix's restricted mode, as Kubernetes mode always does")
    .option(
      '--evaluation-timeout <duration>',
      'stop a nix-instantiate that runs longer',
      timeoutFlag,
      600_000,
    )
    .option(
      '--build-timeout <duration>',
      'stop a build of the systems that runs longer',
      timeoutFlag,
      7_200_000,
    )
    .option(
      '--copy-timeout <duration>',
      'stop a copy to one host that runs longer (that host fails)',
      timeoutFlag,
      1_800_000,
    )
    .option(
      '--eval-memory <size>',
      "memory one deployment's nix-instantiate processes may hold at once (e.g. 1536M, 2G or unlimited); a smaller spec.evaluation.memoryBudget wins",
      memoryFlag,
    )
    .option('--eval-workers <n>', 'nix-instantiate processes evaluating systems at once', workersFlag)
    .option('--no-eval-cache', 'evaluate every time, even when no input of the evaluation changed')
    .showHelpAfterError();
  return { program, extras };
}

export function globals(cli: Cli): Globals {
  return cli.program.opts<Globals>();
}

/** The deadlines and evaluation limits of the global options, for buildDeps. */
export function timeoutGlobals(cli: Cli): DepsTimeouts {
  const g = globals(cli);
  return {
    ...(g.evaluationTimeout === undefined ? {} : { evaluationMs: g.evaluationTimeout }),
    ...(g.buildTimeout === undefined ? {} : { buildMs: g.buildTimeout }),
    ...(g.copyTimeout === undefined ? {} : { copyMs: g.copyTimeout }),
    ...(g.evalMemory === undefined ? {} : { evalMemory: g.evalMemory }),
    ...(g.evalWorkers === undefined ? {} : { evalWorkers: g.evalWorkers }),
  };
}

/** The AWS settings of the global options, over what the caller of runCli adds. */
export function awsGlobals(cli: Cli): AwsSettings {
  const g = globals(cli);
  return { ...cli.extras.aws, ...(g.awsEndpoint ? { endpoint: g.awsEndpoint } : {}) };
}

/** Load the manifests and build the clients; exit 2 when no deployment is left to work on. */
export async function setup(cli: Cli, o: Options): Promise<Selection> {
  const g = globals(cli);
  const log = g.verbose ? logger(g.logFormat) : silentLogger;
  const result = await loadDeployments(path.resolve(g.file), path.join(g.stateDir, 'scratch'));
  for (const e of result.errors) process.stderr.write(`error: ${e.path}: ${e.message}\n`);
  let deployments = result.deployments;
  if (g.deployment) deployments = deployments.filter((d) => d.name === g.deployment);
  if (deployments.length === 0) {
    process.stderr.write(
      result.errors.length > 0
        ? 'error: no valid NixDeployment to work on\n'
        : result.empty
          ? `error: ${result.empty}\n`
          : `error: no NixDeployment${g.deployment ? ` named ${g.deployment}` : ''} in ${g.file}\n`,
    );
    process.exit(2);
  }
  const deps = await buildDeps({
    stateDir: g.stateDir,
    log,
    aws: { ...awsGlobals(cli), ...cloudFlags(o) },
    restrictEval: g.restrictEval === true,
    timeouts: timeoutGlobals(cli),
    evalCache: g.evalCache !== false,
  });
  return {
    deps,
    deployments,
    globals: g,
    json: Boolean(o.json),
    request: (d, op) => requestFor(d.name, d.spec, d.source, op, overrides(o)),
  };
}
