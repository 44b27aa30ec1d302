// The outcome of one reconcile, per machine and as a whole.
import type { Reason } from '../api/conditions.js';
import type { MachineVerdict, Plan } from '../plan/actions.js';
import type { CopyStats } from './ports.js';

export type Outcome =
  | 'unchanged'
  | 'activated'
  | 'drift-corrected'
  | 'drift-reported'
  | 'failed'
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
  error?: { reason: Reason; message: string };
}

export interface ReconcileReport {
  deployment: string;
  op: 'deploy' | 'plan' | 'check';
  ok: boolean;
  reason: Reason;
  message: string;
  /** Set when the deployment as a whole failed (evaluation, state, a provider), not one machine. */
  error?: { reason: Reason; message: string };
  plan: Plan;
  machines: Record<string, MachineReport>;
  startedAt: string;
  durationMs: number;
  revision?: string;
}

export function failedMachines(report: ReconcileReport): MachineReport[] {
  return Object.values(report.machines).filter((m) => m.outcome === 'failed' || m.outcome === 'unreachable');
}

export function driftedMachines(report: ReconcileReport): MachineReport[] {
  return Object.values(report.machines).filter(
    (m) => m.outcome === 'drift-reported' || (report.op !== 'deploy' && m.verdict === 'drifted'),
  );
}
