// What one reconcile carries between its steps.
import { failureOf } from '../core/errors.js';
import { type Reason } from '../api/conditions.js';
import type { DeploymentState, MachinePhysical, PhysicalView, TargetObservation } from '../core/model.js';
import type { ReconcileRequest } from '../core/request.js';
import type { StateBackend } from '../state/backend.js';
import type {
  Clock,
  Evaluator,
  HostConnector,
  LocalStore,
  Logger,
  ResourceChange,
  ResourceFacts,
  ResourceManager,
  TargetProvider,
} from '../core/ports.js';
import type { MachineReport } from '../report/report.js';

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
  /** Called once per run after evaluation, before providers are used (loads what the deployment needs). */
  prepare?: (physical: PhysicalView, state: DeploymentState) => Promise<void>;
}

export interface Run {
  req: ReconcileRequest;
  deps: ReconcileDeps;
  state: DeploymentState;
  save: () => Promise<void>;
  physical: PhysicalView;
  targets: Record<string, TargetObservation | undefined>;
  reports: Record<string, MachineReport>;
  resourceChanges: ResourceChange[];
  /** Key contents resolved for this run, in memory only. */
  keys?: import('../keys/spec.js').RunKeys;
  /** What the resource pass returned, for the targets; absent when none ran. */
  facts?: ResourceFacts;
}

export function provider(run: Run, env: string): TargetProvider {
  const p = run.deps.providers[env];
  if (!p) throw new Error(`no provider for targetEnv ${JSON.stringify(env)}`);
  return p;
}

export function machine(run: Run, name: string): MachinePhysical {
  const m = run.physical.machines[name];
  if (!m) throw new Error(`machine ${name} is not in the spec`);
  return m;
}

export function fail(run: Run, name: string, err: unknown, reasonFallback: Reason): void {
  const r = run.reports[name];
  if (!r) return;
  r.outcome = r.outcome === 'unreachable' ? 'unreachable' : 'failed';
  r.error = failureOf(err, reasonFallback);
  run.deps.log.error('machine failed', {
    deployment: run.req.name,
    machine: name,
    reason: r.error.reason,
    reaction: r.error.reaction,
    error: r.error.message,
  });
}
