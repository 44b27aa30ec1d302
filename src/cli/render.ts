// Human-readable output of plans, reports, generations and info tables.
import type { Generation } from '../core/model.js';
import type { PlanOutput } from '../api/output.js';
import type { Action, MachinePlan, Plan } from '../plan/actions.js';
import type { MachineResult } from '../apply/operations.js';
import { summariseFailures, type MachineReport, type ReconcileReport } from '../report/report.js';
import { renderClosureDiff } from '../plan/closure-diff.js';
import { renderResourceChanges } from './render-resources.js';

export { planHasChanges } from './render-resources.js';

const SYMBOL: Record<string, string> = {
  create: '+',
  start: '^',
  update: '~',
  drifted: '!',
  'up-to-date': '=',
  unreachable: 'x',
  held: '@',
  obsolete: '?',
  destroy: '-',
  unknown: '?',
};

/** "/nix/store/abc...-nixos-system-web-25.05" -> "abc1234…-nixos-system-web-25.05" */
export function shortPath(p: string | undefined): string {
  if (!p) return '-';
  const m = /^\/nix\/store\/([0-9a-z]{32})-(.*)$/.exec(p);
  return m ? `${m[1]!.slice(0, 7)}…-${m[2]}` : p;
}

/** A key action in a plan line: names and files only. */
function deliverKeysWords(a: Extract<Action, { kind: 'deliver-keys' }>): string {
  const parts = [
    ...(a.keys.length > 0 ? [`send keys ${a.keys.join(' ')} (${a.uploadAt})`] : []),
    ...(a.remove.length > 0 ? [`remove keys ${a.remove.join(' ')}`] : []),
  ];
  return parts.join(', ') || 'mark keys done';
}

/** The words of each kind of action in a plan's line. */
const STEP: { [K in Action['kind']]: (a: Extract<Action, { kind: K }>) => string } = {
  'create-target': (a) => `create ${a.env} host`,
  'start-target': () => 'start host',
  'destroy-target': () => 'destroy host',
  build: () => 'build',
  copy: () => 'copy',
  activate: (a) => `activate (${a.mode}, ${a.cause})`,
  'report-drift': (a) => `report drift: runs ${shortPath(a.actual)}, expected ${shortPath(a.expected)}`,
  'deliver-keys': (a) => deliverKeysWords(a),
};

const stepWords = <A extends Action>(a: A): string => (STEP[a.kind] as (a: A) => string)(a);

function steps(actions: readonly Action[], machine: string): string {
  return actions
    .filter((a) => a.machine === machine)
    .map(stepWords)
    .join(', ');
}

function describeMachine(m: MachinePlan, actions: readonly Action[]): string {
  const todo = steps(actions, m.machine);
  if (todo) {
    const tail = m.verdict === 'create' ? ' (system known after the host exists)' : '';
    return todo + (m.system && m.verdict !== 'create' ? ` -> ${shortPath(m.system)}` : tail);
  }
  switch (m.verdict) {
    case 'up-to-date':
      return `up to date (${shortPath(m.system ?? m.current)})`;
    case 'held':
      return `held at a rolled-back generation (${shortPath(m.system)})`;
    case 'unreachable':
      return `unreachable: ${m.note ?? ''}`;
    case 'obsolete':
      return 'no longer in the spec (use --kill-obsolete to destroy)';
    default:
      return m.note ?? m.verdict;
  }
}

/** Machines by verdict, as the plan's summary line counts them. */
export function planCounts(plan: Plan): PlanOutput['counts'] {
  const count = (...verdicts: string[]) => plan.machines.filter((m) => verdicts.includes(m.verdict)).length;
  return {
    create: count('create'),
    update: count('update'),
    drifted: count('drifted'),
    unchanged: count('up-to-date', 'held'),
    unreachable: count('unreachable'),
  };
}

export function renderPlan(report: ReconcileReport): string {
  const lines = [`Deployment ${report.deployment}:`];
  const width = Math.max(4, ...report.plan.machines.map((m) => m.machine.length));
  for (const m of [...report.plan.machines].sort((a, b) => a.machine.localeCompare(b.machine))) {
    lines.push(
      `  ${SYMBOL[m.verdict] ?? ' '} ${m.machine.padEnd(width)}  ${m.env.padEnd(5)}  ${describeMachine(m, report.plan.actions)}`,
    );
    const diff = report.machines[m.machine]?.diff;
    if (diff) lines.push(...renderClosureDiff(diff));
  }
  const n = planCounts(report.plan);
  lines.push(
    `Plan: ${n.create} to create, ${n.update} to update, ${n.drifted} drifted, ` +
      `${n.unchanged} unchanged, ${n.unreachable} unreachable.`,
  );
  lines.push(...renderResourceChanges(report.plan.resources));
  for (const w of report.plan.waves ?? [])
    lines.push(`Wave ${w.wave} of ${report.plan.waves!.length}: ${w.machines.join(', ')}`);
  if (!report.ok) lines.push(`Error (${report.reason}): ${report.message}`);
  return lines.join('\n');
}

/** ", copied 12 paths (3.4 MB)", or in cache mode what the host substituted and what this machine uploaded. */
function copiedText(c: MachineReport['copied']): string {
  if (!c) return '';
  if (c.mode !== 'cache') return `, copied ${c.paths} paths (${formatBytes(c.bytes)})`;
  const up = c.uploaded ?? { paths: 0, bytes: 0 };
  return `, substituted ${c.paths} paths from the cache (uploaded ${up.paths}, ${formatBytes(up.bytes)})`;
}

function outcomeText(m: MachineReport): string {
  switch (m.outcome) {
    case 'activated':
      return `activated ${shortPath(m.current)}${m.generation ? ` (generation ${m.generation})` : ''}${copiedText(m.copied)}`;
    case 'drift-corrected':
      return `drift corrected: re-activated ${shortPath(m.current)}`;
    case 'drift-reported':
      return `DRIFTED: runs ${shortPath(m.current)}, expected ${shortPath(m.system)} (not corrected: driftPolicy Report)`;
    case 'rolled-back':
      return `ROLLED BACK (${m.error?.reason ?? 'error'}): ${m.error?.message ?? ''}`;
    case 'failed':
    case 'unreachable':
      return `FAILED (${m.error?.reason ?? 'error'}): ${m.error?.message ?? ''}`;
    case 'unchanged':
      return m.rolledBack
        ? `rolled back to ${shortPath(m.current)} (generation ${m.generation ?? '?'})`
        : `unchanged (${shortPath(m.system)})`;
    default:
      return m.outcome;
  }
}

/** The closure diffs of a --diff run alone, machine by machine: what a deploy --diff prints before applying. */
export function renderDiffs(report: ReconcileReport): string {
  const lines = [`Changes of deployment ${report.deployment}:`];
  const machines = Object.values(report.machines).sort((a, b) => a.machine.localeCompare(b.machine));
  for (const m of machines) {
    if (m.diff) lines.push(`  ${m.machine}: ${shortPath(m.diff.from)} -> ${shortPath(m.diff.to)}`);
    if (m.diff) lines.push(...renderClosureDiff(m.diff));
    else if (m.error) lines.push(`  ${m.machine}: no diff (${m.error.reason}): ${m.error.message}`);
  }
  if (lines.length === 1) lines.push('  no machine changes its system');
  return lines.join('\n');
}

export function renderDeploy(report: ReconcileReport): string {
  const lines = [`Deployment ${report.deployment}:`];
  const width = Math.max(4, ...Object.keys(report.machines).map((n) => n.length));
  for (const m of Object.values(report.machines).sort((a, b) => a.machine.localeCompare(b.machine))) {
    lines.push(`  ${m.machine.padEnd(width)}  ${m.created ? 'created, ' : ''}${outcomeText(m)}`);
  }
  lines.push(...renderResourceChanges(report.plan.resources, true));
  lines.push(
    report.ok
      ? `Done in ${(report.durationMs / 1000).toFixed(1)}s: ${report.message}.`
      : `Failed (${report.reason}) after ${(report.durationMs / 1000).toFixed(1)}s: ${report.message}`,
  );
  return lines.join('\n');
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A plain text table: columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [fmt(header), ...rows.map(fmt)].join('\n');
}

export function renderGenerations(results: MachineResult<Generation[]>[]): string {
  const out: string[] = [];
  for (const r of results) {
    out.push(`${r.machine}:`);
    if (!r.ok) {
      out.push(`  error (${r.error?.reason}): ${r.error?.message}`);
      continue;
    }
    for (const g of r.value ?? []) {
      const when = new Date(g.createdAt * 1000).toISOString().replace('T', ' ').slice(0, 19);
      out.push(
        `  ${String(g.number).padStart(4)}   ${when}   ${shortPath(g.path)}${g.current ? '   (current)' : ''}`,
      );
    }
  }
  return out.join('\n');
}

/** One line per machine (a failure with its whole error), then a bounded summary of the failures. */
export function renderResults<T>(verb: string, results: MachineResult<T>[], show: (v: T) => string): string {
  const lines = results.map((r) =>
    r.ok
      ? `${r.machine}: ${verb} ${show(r.value as T)}`
      : `${r.machine}: FAILED (${r.error?.reason}): ${r.error?.message}`,
  );
  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0) lines.push(summariseFailures(failed, results.length));
  return lines.join('\n');
}
