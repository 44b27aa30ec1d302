// What every stage of one reconcile reads (the request, the dependencies, the cancellation signal), and the
// deployment's state as a stage writes it: records in memory, saved at named checkpoints.
import { failureOf, type Failure } from '../core/errors.js';
import { type Reason } from '../api/conditions.js';
import type { DeploymentState, MachinePhysical, PhysicalView } from '../core/model.js';
import type { ReconcileRequest } from '../core/request.js';
import { noProgress, type ProgressSink } from '../core/progress.js';
import type { StateBackend } from '../state/backend.js';
export type { MachineFailure } from '../report/outcomes.js';
import type {
  Clock,
  Evaluator,
  HostConnector,
  LocalStore,
  Logger,
  ResourceManager,
  TargetProvider,
} from '../core/ports.js';

export interface ClientKey {
  privateKey: string;
  publicKey: string;
}

export interface ReconcileDeps {
  evaluator: Evaluator;
  store: LocalStore;
  providers: Readonly<Record<string, TargetProvider>>;
  connector: HostConnector;
  state: StateBackend;
  clientKey: ClientKey;
  /** Reads a machine's deployment.sshKeyFile. */
  readKeyFile: (path: string) => Promise<string>;
  /** Directory for GC roots of built systems. */
  gcRootDir: string;
  log: Logger;
  clock: Clock;
  /** Cloud resources; absent when no cloud provider is configured. */
  resources?: ResourceManager;
  /** Where key contents come from; default: text, keyFile and keyCommand read on this machine. */
  keySource?: import('../keys/resolve.js').KeySource;
  /** The deployment's secret for the HMACs of delivered keys kept in the state; absent: no digest is kept. */
  keyHmacSecret?: (deployment: string) => Promise<Buffer>;
  /** Runs a rollout wave's analysis gate; default: against Prometheus (src/observe/analysis.ts). */
  analysis?: typeof import('./analysis.js').runAnalysis;
  /** The binary caches of copy mode "cache" (S3 buckets of the deployment); absent: no machine can copy that way. */
  binaryCaches?: import('../core/ports.js').BinaryCaches;
  /** Called once per run after evaluation, before providers are used (loads what the deployment needs). */
  prepare?: (physical: PhysicalView, state: DeploymentState) => Promise<void>;
}

/** Read-only: what a stage is asked and what it may use. */
export interface RunContext {
  readonly req: ReconcileRequest;
  readonly deps: ReconcileDeps;
  readonly signal: AbortSignal;
  /** Reports progress (never throws): the request's sink, or nothing. */
  readonly progress: ProgressSink;
  /** Enter a stage of the run: every log line after this says it in its `stage` field, unless it names its own. */
  enter(stage: RunStage): void;
}

/** The stages of a reconcile, as log lines name them (a machine's own lines name the machine's stage). */
export type RunStage = 'evaluate' | 'provision' | 'observe' | 'plan' | 'apply' | 'report';

/** A logger that adds the stage the run is in to every line that does not name one. */
function staged(log: ReconcileDeps['log'], current: () => string): ReconcileDeps['log'] {
  const add = (fields?: Record<string, unknown>) => ({ stage: current(), ...fields });
  return {
    info: (msg, fields) => log.info(msg, add(fields)),
    warn: (msg, fields) => log.warn(msg, add(fields)),
    error: (msg, fields) => log.error(msg, add(fields)),
  };
}

export function runContext(req: ReconcileRequest, given: ReconcileDeps): RunContext {
  let stage: RunStage = 'evaluate';
  const deps = { ...given, log: staged(given.log, () => stage) };
  const sink = req.progress ?? noProgress;
  const progress: ProgressSink = (event) => {
    try {
      sink(event);
    } catch {
      // A watcher that fails must not fail the reconcile.
    }
  };
  return {
    req,
    deps,
    signal: req.signal ?? new AbortController().signal,
    progress,
    enter: (next) => void (stage = next),
  };
}

/**
 * The points at which a reconcile saves its state: once the targets exist, once a machine is done (activated
 * or failed), at the end. Providers save on their own before a create call, to make it idempotent.
 */
export type Checkpoint = 'provisioned' | 'machine-done' | 'finished';

/** The deployment's recorded state while a run holds it. */
export interface StateDoc {
  readonly state: DeploymentState;
  /** Save now, at one of the named checkpoints (a no-op for a run that does not hold the lock). */
  checkpoint(at: Checkpoint): Promise<void>;
  /** Save before a provider's create call, so that a crash in it leaves a record to resume from. */
  persist(): Promise<void>;
}

export function provider(deps: ReconcileDeps, env: string): TargetProvider {
  const p = deps.providers[env];
  if (!p) throw new Error(`no provider for targetEnv ${JSON.stringify(env)}`);
  return p;
}

export function machine(physical: PhysicalView, name: string): MachinePhysical {
  const m = physical.machines[name];
  if (!m) throw new Error(`machine ${name} is not in the spec`);
  return m;
}

/** The failure `err` stands for on machine `name`, logged where it is met. */
export function machineFailure(
  ctx: RunContext,
  name: string,
  err: unknown,
  fallback: Reason,
  stage?: string,
): Failure {
  const failure = failureOf(err, fallback);
  ctx.deps.log.error('machine failed', {
    deployment: ctx.req.name,
    machine: name,
    ...(stage ? { stage } : {}),
    reason: failure.reason,
    reaction: failure.reaction,
    error: failure.message,
  });
  return failure;
}
