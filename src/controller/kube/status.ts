// The status of a NixDeployment, per the Kubernetes API conventions: conditions keyed by type whose
// lastTransitionTime moves only when their status does, observedGeneration, revisions, and a per-machine view
// bounded so that a thousand machines fit in one object. Pure: no I/O, the time is given.
import { ConditionType, Reason } from '../../api/conditions.js';
import { type Failure } from '../../core/errors.js';
import { MAX_LISTED_MACHINES, type Condition, type NixDeploymentStatus } from '../../api/deployment.js';
import type { MachineReport, ReconcileReport } from '../../report/report.js';

type ConditionInput = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;
type MachineState = NonNullable<NixDeploymentStatus['machineStates']>[number];

const MAX_MESSAGE = 4096;
const MAX_MACHINE_MESSAGE = 256;

export function truncate(text: string, max = MAX_MESSAGE): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Set a condition; its lastTransitionTime stays when its status does not change. */
export function setCondition(
  conditions: readonly Condition[],
  c: ConditionInput,
  generation: number,
  now: string,
): Condition[] {
  const prev = conditions.find((x) => x.type === c.type);
  const next: Condition = {
    ...c,
    message: truncate(c.message),
    observedGeneration: generation,
    lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now,
  };
  return [...conditions.filter((x) => x.type !== c.type), next].sort(byType);
}

export function removeCondition(conditions: readonly Condition[], type: string): Condition[] {
  return conditions.filter((x) => x.type !== type);
}

const ORDER: string[] = [
  ConditionType.Ready,
  ConditionType.Reconciling,
  ConditionType.Stalled,
  ConditionType.Drifted,
];
const byType = (a: Condition, b: Condition) => ORDER.indexOf(a.type) - ORDER.indexOf(b.type);

export function conditionOf(status: NixDeploymentStatus | undefined, type: string): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** Status while a reconcile runs: Reconciling, and Ready=Unknown when the spec is new. */
export function progressingStatus(
  prev: NixDeploymentStatus | undefined,
  generation: number,
  now: string,
  message: string,
): NixDeploymentStatus {
  let conditions = setCondition(
    prev?.conditions ?? [],
    { type: ConditionType.Reconciling, status: 'True', reason: Reason.Progressing, message },
    generation,
    now,
  );
  if (prev?.observedGeneration !== generation) {
    conditions = setCondition(
      conditions,
      { type: ConditionType.Ready, status: 'Unknown', reason: Reason.Progressing, message },
      generation,
      now,
    );
  }
  return { ...prev, conditions };
}

export interface Outcome {
  generation: number;
  now: string;
  /** The reconcile's report; absent when it failed before evaluating (a missing Secret, say). */
  report?: ReconcileReport;
  /** A failure outside the report (a missing Secret, say); it wins over the report's own error. */
  failure?: Failure;
  revision?: string;
  requestedAt?: string;
}

/** Status after a reconcile. */
export function resultStatus(prev: NixDeploymentStatus | undefined, o: Outcome): NixDeploymentStatus {
  const failure = failureOfOutcome(o);
  const ok = failure === undefined;
  const reason = failure?.reason ?? o.report?.reason ?? Reason.ReconciliationSucceeded;
  const message = failure?.message ?? o.report?.message ?? '';
  let conditions = removeCondition(prev?.conditions ?? [], ConditionType.Reconciling);
  conditions = setCondition(
    conditions,
    { type: ConditionType.Ready, status: ok ? 'True' : 'False', reason, message },
    o.generation,
    o.now,
  );
  // Stalled says that retrying alone will not help: a change to the spec, a Secret or a network file must come.
  conditions =
    failure?.reaction === 'stall'
      ? setCondition(
          conditions,
          { type: ConditionType.Stalled, status: 'True', reason, message },
          o.generation,
          o.now,
        )
      : removeCondition(conditions, ConditionType.Stalled);
  // A reconcile that failed before it saw the machines says nothing new about them.
  const sawMachines = o.report && (o.report.ok || Object.keys(o.report.machines).length > 0);
  if (o.report && sawMachines) {
    conditions = setCondition(conditions, driftCondition(o.report), o.generation, o.now);
  }
  const status: NixDeploymentStatus = {
    ...prev,
    observedGeneration: o.generation,
    conditions,
    ...(o.revision ? { lastAttemptedRevision: o.revision } : {}),
    ...(ok && o.revision ? { lastAppliedRevision: o.revision } : {}),
    ...(o.requestedAt ? { lastHandledRequestedAt: o.requestedAt } : {}),
  };
  if (o.report && sawMachines) {
    const { machines, machineStates } = machineStatus(o.report);
    status.machines = machines;
    status.machineStates = machineStates;
  }
  return status;
}

/** Why the reconcile did not succeed, if it did not; a report that failed without saying why is retried. */
export function failureOfOutcome(o: Pick<Outcome, 'failure' | 'report'>): Failure | undefined {
  if (o.failure) return o.failure;
  if (!o.report) return { reason: Reason.ProvisioningFailed, message: 'no report', reaction: 'retry' };
  if (o.report.ok) return undefined;
  const e = o.report.error;
  if (!e) return { reason: o.report.reason, message: o.report.message, reaction: 'retry' };
  if (e.scope !== 'machines') return e;
  // The report's message only counts the failures; a condition also says why, with the first machine's error
  // (each machine's own is in its entry of status.machines).
  const first = Object.values(o.report.machines).find((m) => m.error);
  return first?.error ? { ...e, message: `${e.message}. ${first.machine}: ${first.error.message}` } : e;
}

function driftCondition(report: ReconcileReport): ConditionInput {
  const drifted = Object.values(report.machines).filter((m) => m.outcome === 'drift-reported');
  if (drifted.length > 0) {
    return {
      type: ConditionType.Drifted,
      status: 'True',
      reason: Reason.DriftDetected,
      message: `${drifted.length} machine(s) run another system than the one activated: ${listNames(drifted)}`,
    };
  }
  const corrected = Object.values(report.machines).filter((m) => m.outcome === 'drift-corrected');
  return {
    type: ConditionType.Drifted,
    status: 'False',
    reason: Reason.NoDrift,
    message:
      corrected.length > 0
        ? `drift corrected on ${listNames(corrected)}`
        : 'every machine runs the system last activated',
  };
}

/** "a, b, c and 7 more" */
export function listNames(machines: readonly { machine: string }[], max = 10): string {
  const names = machines.map((m) => m.machine).sort();
  return names.length <= max
    ? names.join(', ')
    : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

function stateOf(m: MachineReport): MachineState['state'] {
  if (m.outcome === 'unreachable') return 'Unreachable';
  // Switched back, by the host itself or by a failed rollout: what it runs is the previous generation.
  if (m.outcome === 'rolled-back' || m.rolledBack) return 'RolledBack';
  if (m.error || m.outcome === 'failed') return 'Failed';
  if (m.outcome === 'drift-reported') return 'Drifted';
  if (m.outcome === 'held') return 'Held';
  if (m.outcome === 'obsolete') return 'Obsolete';
  if (m.outcome === 'planned') return 'Pending';
  if (m.keys && m.keys.missing.length > 0) return 'KeysMissing';
  return 'Ready';
}

// Failing machines first, then those needing attention, so the bounded list shows what matters.
const RANK = [
  'Failed',
  'Unreachable',
  'RolledBack',
  'Drifted',
  'KeysMissing',
  'Held',
  'Pending',
  'Obsolete',
  'Ready',
];

/** Counts over every machine, and at most MAX_LISTED_MACHINES of them by name. */
export function machineStatus(
  report: ReconcileReport,
): Required<Pick<NixDeploymentStatus, 'machines' | 'machineStates'>> {
  const all = Object.values(report.machines).map((m) => ({ m, state: stateOf(m) }));
  const counted = all.filter((x) => x.state !== 'Obsolete');
  const machines = {
    total: counted.length,
    ready: counted.filter((x) => x.state === 'Ready' || x.state === 'Held').length,
    drifted: counted.filter((x) => x.state === 'Drifted').length,
    failed: counted.filter((x) => ['Failed', 'Unreachable', 'RolledBack'].includes(x.state)).length,
  };
  const machineStates = all
    .sort((a, b) => RANK.indexOf(a.state) - RANK.indexOf(b.state) || a.m.machine.localeCompare(b.m.machine))
    .slice(0, MAX_LISTED_MACHINES)
    .map(({ m, state }): MachineState => {
      const system = m.current ?? m.system;
      return {
        name: m.machine,
        state,
        ...(system ? { system } : {}),
        ...(m.error ? { message: truncate(m.error.message, MAX_MACHINE_MESSAGE) } : {}),
        ...(!m.error && state === 'KeysMissing'
          ? {
              message: truncate(`keys missing or changed: ${m.keys!.missing.join(' ')}`, MAX_MACHINE_MESSAGE),
            }
          : {}),
      };
    });
  return { machines, machineStates };
}
