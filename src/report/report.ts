// The outcome of one reconcile, per machine and as a whole.
import { Reason } from '../api/conditions.js';
import type { ClosureDiff } from '../api/output.js';
import { combinedReaction, failureOf, type Failure } from '../core/errors.js';
import type { ReconcileRequest } from '../core/request.js';
import type { MachineVerdict, Plan } from '../plan/actions.js';
import type { CopyStats } from '../core/ports.js';
import type { ActivationStatus } from '../core/model.js';
import type { RolloutReport } from './outcomes.js';

export type Outcome =
  | 'unchanged'
  | 'activated'
  | 'drift-corrected'
  | 'drift-reported'
  | 'failed'
  /** Activated, then switched back by the host (error says why: ConnectivityLost, ActivationTimeout, ...). */
  | 'rolled-back'
  | 'unreachable'
  | 'planned'
  | 'held'
  | 'destroyed'
  | 'obsolete';

export interface MachineReport {
  machine: string;
  env: string;
  verdict: MachineVerdict;
  outcome: Outcome;
  address?: string;
  /** The system this machine should run. */
  system?: string;
  /** What the host runs now (after this reconcile). */
  current?: string;
  generation?: number;
  created?: boolean;
  built?: boolean;
  copied?: CopyStats;
  /** Declared keys missing on the host or not as declared (after this reconcile), and those it delivered. */
  keys?: { missing: string[]; delivered: string[]; warnings?: string[] };
  /** With --diff: what changes between the system its host ran and the new one. */
  diff?: ClosureDiff;
  /** The last activation the host records (its own account, read before this run acted). */
  lastActivation?: ActivationStatus;
  /** Switched back to its previous generation by a failed rollout. */
  rolledBack?: boolean;
  /** Why this machine failed, and whether retrying can help. */
  error?: Failure;
}

export interface ReportFailure extends Failure {
  scope: 'deployment' | 'machines';
}

export interface ReconcileReport {
  deployment: string;
  op: 'deploy' | 'plan' | 'check';
  ok: boolean;
  reason: Reason;
  message: string;
  /**
   * Present exactly when `ok` is false: the reason and message above, how a controller should react, and whether
   * the deployment as a whole failed (evaluation, state, a provider) or some of its machines did.
   */
  error?: ReportFailure;
  plan: Plan;
  machines: Record<string, MachineReport>;
  startedAt: string;
  durationMs: number;
  revision?: string;
  /** How the rollout in waves went, when the deployment rolls out in waves or with health checks. */
  rollout?: RolloutReport;
}

export function failedMachines(report: ReconcileReport): MachineReport[] {
  return Object.values(report.machines).filter((m) => m.outcome === 'failed' || m.outcome === 'unreachable');
}

export function driftedMachines(report: ReconcileReport): MachineReport[] {
  return Object.values(report.machines).filter(
    (m) => m.outcome === 'drift-reported' || (report.op !== 'deploy' && m.verdict === 'drifted'),
  );
}

/** How many machines each reason of a failure summary names before "and N more". */
export const NAMES_PER_REASON = 3;

/**
 * A failure summary of bounded size, whatever the fleet's: by reason (most machines first) with a count and the
 * first few machines, e.g. "2 of 5 machines failed: HostUnreachable (1): c; BuildFailed (1): a". Each machine's
 * own error stays in its report, once.
 */
export function summariseFailures(
  failed: readonly { machine: string; error?: { reason: string; message: string } | undefined }[],
  total: number,
): string {
  const byReason = new Map<string, string[]>();
  for (const f of failed) {
    const reason = f.error?.reason ?? 'Failed';
    byReason.set(reason, [...(byReason.get(reason) ?? []), f.machine]);
  }
  const natural = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });
  const groups = [...byReason]
    .sort(([ra, a], [rb, b]) => b.length - a.length || ra.localeCompare(rb))
    .map(([reason, names]) => {
      const sorted = names.sort(natural);
      const shown = sorted.slice(0, NAMES_PER_REASON).join(', ');
      const more = sorted.length - NAMES_PER_REASON;
      return `${reason} (${names.length}): ${shown}${more > 0 ? ` and ${more} more` : ''}`;
    });
  return `${failed.length} of ${total} machines failed: ${groups.join('; ')}`;
}

export function summarise(
  req: ReconcileRequest,
  started: Date,
  ended: Date,
  machines: Record<string, MachineReport>,
  plan: Plan,
  err?: unknown,
  cancelled = false,
): ReconcileReport {
  const base = {
    deployment: req.name,
    op: req.op,
    plan,
    machines,
    startedAt: started.toISOString(),
    durationMs: ended.getTime() - started.getTime(),
    ...(req.revision ? { revision: req.revision } : {}),
  };
  if (err !== undefined) {
    const error = { ...failureOf(err, Reason.ProvisioningFailed), scope: 'deployment' as const };
    return { ...base, ok: false, reason: error.reason, message: error.message, error };
  }
  const changed = Object.values(machines).filter(
    (m) => m.outcome === 'activated' || m.outcome === 'drift-corrected',
  );
  const waiting = Object.values(machines).filter((m) => m.outcome === 'planned').length;
  if (cancelled) {
    // Retried like any interruption: the next reconcile does what is left.
    const message = `cancelled: ${changed.length} machines activated, ${waiting} left planned`;
    const error = {
      reason: Reason.Cancelled,
      message,
      reaction: 'retry' as const,
      scope: 'deployment' as const,
    };
    return { ...base, ok: false, reason: error.reason, message, error };
  }
  const failed = Object.values(machines).filter((m) => m.error);
  if (failed.length > 0) {
    const first = failed[0]!;
    const reason = failed.every((f) => f.error?.reason === first.error?.reason)
      ? (first.error?.reason ?? Reason.PartialFailure)
      : Reason.PartialFailure;
    // Bounded for a fleet of any size: every machine's own error is in its report, and printed there.
    const message = summariseFailures(failed, Object.keys(machines).length);
    const reaction = combinedReaction(failed.map((f) => f.error?.reaction ?? 'retry'));
    return { ...base, ok: false, reason, message, error: { reason, message, reaction, scope: 'machines' } };
  }
  const message =
    req.op !== 'deploy'
      ? `${plan.actions.length} actions planned`
      : req.stopAfter
        ? `${Object.keys(machines).length} machines reconciled up to the ${req.stopAfter} stage, ${waiting} left to activate`
        : `${Object.keys(machines).length} machines reconciled, ${changed.length} activated`;
  return { ...base, ok: true, reason: Reason.ReconciliationSucceeded, message };
}
