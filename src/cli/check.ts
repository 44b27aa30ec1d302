// `reconix check`: per-machine health as a NixOps-style exit code bitmask.
import type { ReconcileReport } from '../reconcile/report.js';
import { shortPath, table } from './render.js';

export const CheckBit = {
  missing: 1,
  down: 2,
  unreachable: 4,
  drifted: 8,
  outdated: 16,
  error: 64,
} as const;

export interface MachineCheck {
  machine: string;
  exists: boolean;
  up: boolean;
  reachable: boolean;
  drifted: boolean;
  outdated: boolean;
  running?: string;
  expected?: string;
  error?: string;
}

export function checkResults(report: ReconcileReport): { machines: MachineCheck[]; exitCode: number } {
  let exitCode = 0;
  const machines = Object.values(report.machines)
    .filter((m) => m.verdict !== 'obsolete')
    .map((m): MachineCheck => {
      const exists = m.verdict !== 'create';
      const up = exists && m.verdict !== 'start';
      const reachable =
        up && m.outcome !== 'unreachable' && m.verdict !== 'unreachable' && m.verdict !== 'unknown';
      const drifted = m.verdict === 'drifted';
      const outdated = m.verdict === 'update';
      if (!exists) exitCode |= CheckBit.missing;
      else if (!up) exitCode |= CheckBit.down;
      else if (!reachable) exitCode |= CheckBit.unreachable;
      if (drifted) exitCode |= CheckBit.drifted;
      if (outdated) exitCode |= CheckBit.outdated;
      return {
        machine: m.machine,
        exists,
        up,
        reachable,
        drifted,
        outdated,
        ...(m.current ? { running: m.current } : {}),
        ...(m.system ? { expected: m.system } : {}),
        ...(m.error ? { error: `${m.error.reason}: ${m.error.message}` } : {}),
      };
    });
  if (!report.ok && machines.every((m) => !m.error)) exitCode |= CheckBit.error;
  return { machines, exitCode };
}

export function renderCheck(report: ReconcileReport): string {
  const { machines } = checkResults(report);
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  const rows = machines.map((m) => [
    m.machine,
    yes(m.exists),
    yes(m.up),
    yes(m.reachable),
    m.drifted ? 'DRIFTED' : m.outdated ? 'outdated' : m.reachable ? 'in sync' : '-',
    shortPath(m.running),
    m.error ?? '',
  ]);
  const lines = [table(['MACHINE', 'EXISTS', 'UP', 'REACHABLE', 'SYSTEM', 'RUNNING', 'ERROR'], rows)];
  if (!report.ok && machines.every((m) => !m.error))
    lines.push(`Error (${report.reason}): ${report.message}`);
  return lines.join('\n');
}
