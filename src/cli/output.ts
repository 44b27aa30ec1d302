// The --json documents of plan and deploy, typed by the published schemas (src/api/output.ts): a change to the
// report or the plan that the schemas do not describe fails to compile here.
import type { DeployOutput, PlanOutput } from '../api/output.js';
import type { ReconcileReport } from '../report/report.js';
import { planCounts, planHasChanges } from './render.js';

export function planOutput(report: ReconcileReport): PlanOutput {
  const { machines, actions, resources } = report.plan;
  return {
    deployment: report.deployment,
    ok: report.ok,
    reason: report.reason,
    message: report.message,
    // The deployment-level failure only: a machine's is in its own entry.
    ...(report.error?.scope === 'deployment'
      ? { error: { reason: report.error.reason, message: report.error.message } }
      : {}),
    changes: planHasChanges(report.plan),
    counts: planCounts(report.plan),
    machines,
    actions,
    ...(resources ? { resources } : {}),
    ...diffsOf(report),
    ...(report.plan.waves ? { waves: report.plan.waves } : {}),
  };
}

function diffsOf(report: ReconcileReport): Pick<PlanOutput, 'diffs'> {
  const diffs = Object.fromEntries(
    Object.values(report.machines).flatMap((m) => (m.diff ? [[m.machine, m.diff] as const] : [])),
  );
  return Object.keys(diffs).length > 0 ? { diffs } : {};
}

export function deployOutput(report: ReconcileReport): DeployOutput {
  return report;
}

/** One deployment's document as it is; several as an array, so that the output is always one JSON document. */
export function jsonDocument(items: readonly unknown[]): string {
  return JSON.stringify(items.length === 1 ? items[0] : items, null, 2);
}
