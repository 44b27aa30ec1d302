// What a reconcile may do, as data. The executor switches over `kind` exhaustively.
import type { ActivationMode } from '../api/deployment.js';

export type ActivationCause = 'new' | 'changed' | 'drift' | 'rollback-released';

export type Action =
  | { kind: 'create-target'; machine: string; env: string }
  | { kind: 'start-target'; machine: string; env: string; why: string }
  | { kind: 'destroy-target'; machine: string; env: string }
  | { kind: 'build'; machine: string; drvPath: string; outPath: string }
  | { kind: 'copy'; machine: string; system: string }
  | { kind: 'activate'; machine: string; system: string; mode: ActivationMode; cause: ActivationCause }
  | { kind: 'report-drift'; machine: string; expected: string; actual: string }
  | {
      kind: 'deliver-keys';
      machine: string;
      uploadAt: 'pre-activation' | 'post-activation';
      /** Names of the keys to (re)write: missing, or not as declared. */
      keys: string[];
      /** Files of keys no longer declared. */
      remove: string[];
      /** Write /run/keys/done once these are in place. */
      markDone: boolean;
    };

export type ActionKind = Action['kind'];

/** Where one machine stands after planning. */
export type MachineVerdict =
  | 'create' // its target does not exist yet
  | 'start' // its target exists but is not running
  | 'update' // its system changes
  | 'drifted' // the host runs something else than Reconix activated
  | 'up-to-date'
  | 'unreachable'
  | 'held' // kept at a rolled-back generation
  | 'obsolete' // recorded but gone from the spec
  | 'destroy'
  | 'unknown'; // not observed (error)

export interface MachinePlan {
  machine: string;
  verdict: MachineVerdict;
  env: string;
  /** The system this machine should run, when known. */
  system?: string;
  current?: string;
  note?: string;
}

export interface Plan {
  machines: MachinePlan[];
  actions: Action[];
  /** Cloud resource changes (create, update in place, replace, destroy), when there are resources. */
  resources?: import('../core/ports.js').ResourceChange[];
  /** The rollout's waves in order, when the deployment rolls out in health-gated waves. */
  waves?: { wave: number; machines: string[] }[];
}

export function hasChanges(plan: Plan): boolean {
  return plan.actions.length > 0;
}

export function assertNever(x: never): never {
  throw new Error(`unexpected value ${JSON.stringify(x)}`);
}
