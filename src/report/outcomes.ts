// What the stages of a reconcile return, as the report is assembled from it.
import type { ClosureDiff } from '../api/output.js';
import type { Failure } from '../core/errors.js';
import type { PhysicalView, SystemRef, TargetObservation } from '../core/model.js';
import type { CopyStats, HostSession, ResourceOutcome } from '../core/ports.js';
import type { Plan } from '../plan/actions.js';
import type { HostView } from '../plan/plan.js';

/** One machine's failure, as the stage that met it returns it. */
export interface MachineFailure {
  machine: string;
  failure: Failure;
  /** The host could not be reached at all (rather than failing once reached). */
  unreachable?: boolean;
}

export type Targets = Readonly<Record<string, TargetObservation | undefined>>;

export interface TargetObservations {
  seen: Targets;
  failures: MachineFailure[];
}

/** What provisioning did to one machine's target. */
export interface TargetOutcome {
  machine: string;
  created?: boolean;
  destroyed?: boolean;
  /** The target as it is now, after a create or a start. */
  observation?: TargetObservation;
  failure?: Failure;
}

export type Sessions = Map<string, HostSession>;
export type HostViews = Record<string, HostView>;

export interface Connected {
  sessions: Sessions;
  failures: MachineFailure[];
}

export interface HostObservations {
  views: HostViews;
  failures: MachineFailure[];
}

export interface Configured {
  desired: Readonly<Record<string, SystemRef>>;
  connected: Connected;
  /** Every connected machine's view, and why a machine that was to be connected is not. */
  hosts: HostObservations;
}

/** What applying did to one machine. */
export interface MachineOutcome {
  machine: string;
  built?: boolean;
  copied?: CopyStats;
  /** What the machine's steps came to; absent when they changed nothing it runs. */
  outcome?: 'activated' | 'drift-corrected' | 'drift-reported' | 'planned' | 'rolled-back';
  current?: string;
  generation?: number;
  failure?: Failure;
  /** Switched back to the generation it ran before, with its rollout wave. */
  rolledBack?: boolean;
  /** Stopped by a cancellation before its steps were done. */
  cancelled?: boolean;
}

/** What the keys stage found and did on one machine: keys missing or not as declared, and those delivered. */
export interface KeyReport {
  missing: string[];
  delivered: string[];
  warnings?: string[];
}

/** What the keys stage returned: per machine, and the machines whose keys could not be read. */
export interface KeysOutcome {
  reports: Readonly<Record<string, KeyReport>>;
  failures: readonly MachineFailure[];
}

/** Each stage's result, once it has run: a reconcile that fails or is cancelled midway has the first few. */
export interface RunResults {
  physical?: PhysicalView;
  selected?: readonly string[];
  resources?: ResourceOutcome;
  observed?: TargetObservations;
  targetPlan?: Plan;
  provisioned?: readonly TargetOutcome[];
  /** The targets after provisioning. */
  targets?: Targets;
  configured?: Configured;
  systemPlan?: Plan;
  keys?: KeysOutcome;
  applied?: readonly MachineOutcome[];
  /** With --diff: what changes on each machine whose system changes, and the machines it could not diff. */
  diffs?: { diffs: Readonly<Record<string, ClosureDiff>>; failures: readonly MachineFailure[] };
  /** The rollout's waves, when it goes in waves. */
  waves?: { wave: number; machines: string[] }[];
  rollout?: RolloutReport;
}

/** How a rollout in waves went: each wave's machines and state, and what failed. */
export interface RolloutReport {
  revision: string;
  waves: {
    wave: number;
    machines: string[];
    state: 'pending' | 'passed' | 'failed' | 'paused' | 'rolled-back' | 'skipped';
  }[];
  /** The wave running, paused or failed; the last one when complete. */
  currentWave: number;
  state: 'complete' | 'paused' | 'failed';
  failed?: { wave: number; machine: string; check: string; message: string };
}
