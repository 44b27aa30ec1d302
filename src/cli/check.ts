// `reconix check`: per-machine health as a NixOps-style exit code bitmask.
import { Reason } from '../api/conditions.js';
import type { CheckMachine, CheckOutput } from '../api/output.js';
import type { MachineReport, ReconcileReport } from '../report/report.js';
import { shortPath, table } from './render.js';

export const CheckBit = {
  missing: 1,
  down: 2,
  unreachable: 4,
  drifted: 8,
  outdated: 16,
  keys: 32,
  error: 64,
} as const;

export type MachineCheck = CheckMachine;

const REACH_REASONS: ReadonlySet<string> = new Set([Reason.HostUnreachable, Reason.HostKeyMismatch]);

/** Whether an error means "the host could not be talked to", as opposed to a failure of the check itself. */
export const cutsOff = (error: { reason: string } | undefined): boolean =>
  error !== undefined && REACH_REASONS.has(error.reason);

function checkMachine(m: MachineReport): MachineCheck {
  const exists = m.verdict !== 'create';
  const up = exists && m.verdict !== 'start';
  const cutOff = cutsOff(m.error);
  const reachable =
    up && !cutOff && m.outcome !== 'unreachable' && m.verdict !== 'unreachable' && m.verdict !== 'unknown';
  return {
    machine: m.machine,
    env: m.env,
    exists,
    up,
    reachable,
    drifted: reachable && m.verdict === 'drifted',
    outdated: reachable && m.verdict === 'update',
    ...(reachable && m.keys && m.keys.missing.length > 0 ? { keysMissing: m.keys.missing } : {}),
    ...(m.current ? { running: m.current } : {}),
    ...(m.system ? { expected: m.system } : {}),
    ...(m.error ? { error: { reason: m.error.reason, message: m.error.message } } : {}),
  };
}

/** The bits one machine sets: what is wrong with it, or that checking it failed. */
function machineBits(c: MachineCheck): number {
  if (!c.exists) return CheckBit.missing;
  if (!c.up) return CheckBit.down;
  if (!c.reachable) return c.error && !cutsOff(c.error) ? CheckBit.error : CheckBit.unreachable;
  return (
    (c.drifted ? CheckBit.drifted : 0) |
    (c.outdated ? CheckBit.outdated : 0) |
    (c.keysMissing ? CheckBit.keys : 0) |
    (c.error ? CheckBit.error : 0)
  );
}

/** The failure of the deployment as a whole, when it was not one machine's. */
function deploymentError(report: ReconcileReport): { reason: Reason; message: string } | undefined {
  const e = report.error;
  return e?.scope === 'deployment' ? { reason: e.reason, message: e.message } : undefined;
}

export function checkResults(report: ReconcileReport): CheckOutput {
  const machines = Object.values(report.machines)
    .filter((m) => m.verdict !== 'obsolete')
    .sort((a, b) => a.machine.localeCompare(b.machine))
    .map(checkMachine);
  let exitCode = machines.reduce((bits, c) => bits | machineBits(c), 0);
  const error = deploymentError(report);
  if (error) exitCode |= CheckBit.error;
  return { deployment: report.deployment, exitCode, machines, ...(error ? { error } : {}) };
}

function systemColumn(m: MachineCheck): string {
  if (m.drifted) return 'DRIFTED';
  if (m.outdated) return 'outdated';
  if (!m.exists) return 'missing';
  if (!m.up) return 'down';
  if (!m.reachable) return 'unknown';
  if (m.keysMissing) return `keys missing: ${m.keysMissing.join(' ')}`;
  return m.error ? 'error' : 'in sync';
}

export function renderCheck(report: ReconcileReport): string {
  const res = checkResults(report);
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  const rows = res.machines.map((m) => [
    m.machine,
    yes(m.exists),
    yes(m.up),
    yes(m.reachable),
    systemColumn(m),
    shortPath(m.running),
    m.error ? `${m.error.reason}: ${m.error.message}` : '',
  ]);
  const lines = [table(['MACHINE', 'EXISTS', 'UP', 'REACHABLE', 'SYSTEM', 'RUNNING', 'ERROR'], rows)];
  if (res.error) lines.push(`Error (${res.error.reason}): ${res.error.message}`);
  return lines.join('\n');
}
