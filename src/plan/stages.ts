// Which machines each stage of a reconcile takes, what a deploy stopped after a stage keeps, and what is left
// planned: the decisions between the stages, pure.
import type { SystemRef } from '../core/model.js';
import type { DeployStage, ReconcileRequest } from '../core/request.js';
import type { Action, ActionKind, MachineVerdict } from './actions.js';

/**
 * Whether this reconcile makes missing machines and cloud resources exist. A dry activation only asks hosts
 * what would change, and --build-only only builds: neither creates anything.
 */
export function provisions(req: Pick<ReconcileRequest, 'op' | 'mode' | 'stopAfter'>): boolean {
  return req.op === 'deploy' && req.mode !== 'dry-activate' && req.stopAfter !== 'build';
}

export interface ReachInput {
  /** Selected machines, in order. */
  selected: readonly string[];
  /** Whether each machine's target exists and runs, after provisioning. */
  up: (machine: string) => boolean;
  /** Machines that failed before connecting (or that planning found unreachable). */
  failed: ReadonlySet<string>;
  stopAfter?: DeployStage;
}

/**
 * Which machines are connected to (those up that did not fail; none under --create-only) and which are
 * evaluated (those connected; under --build-only every machine that did not fail, hosts or not, since it
 * builds machines that do not exist yet too, without the addresses they lack).
 */
export function reach(input: ReachInput): { connect: string[]; evaluate: string[] } {
  const ok = input.selected.filter((n) => !input.failed.has(n));
  const connect = input.stopAfter === 'create' ? [] : ok.filter(input.up);
  return { connect, evaluate: input.stopAfter === 'build' ? ok : connect };
}

/** Under --build-only, the builds of machines without a host (which the system plan does not see). */
export function buildsWithoutHost(
  stopAfter: DeployStage | undefined,
  desired: Readonly<Record<string, SystemRef>>,
  connected: ReadonlySet<string>,
  builtLocally: ReadonlySet<string>,
): Action[] {
  if (stopAfter !== 'build') return [];
  return Object.entries(desired)
    .filter(([name, ref]) => !connected.has(name) && !builtLocally.has(ref.outPath))
    .map(([name, ref]) => ({ kind: 'build', machine: name, drvPath: ref.drvPath, outPath: ref.outPath }));
}

/** What a deploy that stops after a stage still does. */
const STAGE_ACTIONS: Record<DeployStage, readonly ActionKind[]> = {
  create: [],
  build: ['build'],
  copy: ['build', 'copy'],
};

/** The system actions a deploy applies: all of them, or those of the stages up to the one it stops after. */
export function stageActions(stopAfter: DeployStage | undefined, actions: readonly Action[]): Action[] {
  if (!stopAfter) return [...actions];
  const kinds = STAGE_ACTIONS[stopAfter];
  return actions.filter((a) => kinds.includes(a.kind));
}

/** A machine's verdict from both plans: making its target exist says more than that its system changes. */
export function machineVerdict(
  target: MachineVerdict | undefined,
  system: MachineVerdict | undefined,
): MachineVerdict {
  if (target === 'create' || target === 'start') return target;
  return system ?? target ?? 'unknown';
}

export interface PlannedInput {
  op: ReconcileRequest['op'];
  /** The deploy stopped before the end: after a stage, or cancelled. */
  stopped: boolean;
  verdict: MachineVerdict;
  /** The plan activates the machine's system. */
  activates: boolean;
  /** The machine already has an outcome of its own (or failed). */
  settled: boolean;
}

/** Whether a machine's outcome is `planned`: what a full deploy would still do to it (create, start, activate). */
export function isPlanned(i: PlannedInput): boolean {
  if (i.settled) return false;
  if (i.op !== 'deploy') return i.verdict === 'update' || i.verdict === 'drifted';
  return i.stopped && (i.activates || WOULD_CHANGE.includes(i.verdict));
}

const WOULD_CHANGE: readonly MachineVerdict[] = ['create', 'start', 'update', 'drifted'];
