// The progress display as lines of text, a pure function of the model, the time and the terminal's size: a
// header, the waves, one line per machine (as many as fit), and one line summing up the machines that do not.
import { MACHINE_STAGES } from '../../api/progress-output.js';
import type { MachineStage } from '../../core/progress.js';
import { finished, type MachineLine, type ProgressModel } from './model.js';

export interface ScreenSize {
  rows: number;
  columns: number;
}

/** Rows left for the shell's prompt and the report's first lines. */
const SPARE_ROWS = 4;

export function screenLines(model: ProgressModel, now: number, size: ScreenSize): string[] {
  const lines: string[] = [];
  if (model.deployment) {
    const elapsed = model.since === undefined ? '' : `  ${duration(now - model.since)}`;
    lines.push(`${model.deployment}: ${model.stage ?? 'started'}${elapsed}`);
  }
  for (const w of [...model.waves.values()].sort((a, b) => a.wave - b.wave)) {
    const reason = w.reason ? ` (${w.reason})` : '';
    lines.push(`wave ${w.wave}/${w.waves} ${w.state}${reason}: ${w.machines.join(', ')}`);
  }
  const machines = [...model.machines.values()];
  const room = Math.max(1, size.rows - SPARE_ROWS - lines.length);
  const width = Math.min(24, Math.max(0, ...machines.map((m) => m.machine.length)));
  if (machines.length <= room) {
    for (const m of machines) lines.push(machineLine(m, now, width));
  } else {
    // The machines still at work and those that failed matter most; the finished ones are counted.
    const order = [...machines].sort((a, b) => rank(a) - rank(b));
    const shown = new Set(order.slice(0, room - 1));
    for (const m of machines) if (shown.has(m)) lines.push(machineLine(m, now, width));
    lines.push(summary(machines.filter((m) => !shown.has(m))));
  }
  return lines.map((l) => fit(l, size.columns));
}

const rank = (m: MachineLine): number => (m.stage === 'failed' ? 1 : finished(m.stage) ? 2 : 0);

export function machineLine(m: MachineLine, now: number, width: number): string {
  const name = m.machine.padEnd(width);
  const end = finished(m.stage) ? m.stageAt : now;
  const what = detail(m);
  return `${name}  ${m.stage.padEnd(12)}${what ? `${what}  ` : ''}${duration(end - m.since)}`;
}

function detail(m: MachineLine): string {
  if (m.stage === 'building' && m.built) return `${m.built.done}/${m.built.total} built`;
  if (m.stage === 'copying' && m.copied) {
    const rate = m.rate !== undefined ? `  ${bytes(m.rate)}/s` : '';
    return `${bytes(m.copied.bytes)}/${bytes(m.copied.total)}${rate}`;
  }
  const code = m.exitCode === undefined ? undefined : `exit code ${m.exitCode}`;
  if (m.reason || m.message) return [m.reason, code, firstLine(m.message)].filter(Boolean).join(': ');
  return code ?? '';
}

/** "+ 37 more: 30 done, 5 copying, 2 failed", stages in the order a deploy goes through them. */
export function summary(rest: readonly MachineLine[]): string {
  const counts = new Map<MachineStage, number>();
  for (const m of rest) counts.set(m.stage, (counts.get(m.stage) ?? 0) + 1);
  const order = [...counts.keys()].sort((a, b) => SUMMARY_ORDER.indexOf(a) - SUMMARY_ORDER.indexOf(b));
  return `+ ${rest.length} more: ${order.map((s) => `${counts.get(s)} ${s}`).join(', ')}`;
}

// Finished machines first, then those at work, the furthest along first; the skipped ones last.
const SUMMARY_ORDER: readonly MachineStage[] = [
  ...MACHINE_STAGES.filter((s) => finished(s) && s !== 'skipped'),
  ...MACHINE_STAGES.filter((s) => !finished(s)).reverse(),
  'skipped',
];

/** SI units, as Nix prints sizes: 12.3 MB. */
export function bytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** m:ss, or h:mm:ss from an hour on. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const two = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

const firstLine = (s: string | undefined) => s?.split('\n')[0];

/** Cut to the terminal's width, so that a line never wraps and the cursor arithmetic stays right. */
function fit(line: string, columns: number): string {
  // A control character (from a message) would move the cursor behind the display's back.
  // eslint-disable-next-line no-control-regex
  const chars = [...line.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')];
  return chars.length <= columns ? line : chars.slice(0, Math.max(1, columns - 1)).join('') + '…';
}
