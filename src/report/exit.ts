// The CLI's exit code, from a report alone.
import type { Plan } from '../plan/actions.js';
import type { ReconcileReport } from './report.js';

/** Whether a plan would change anything: machine actions, or cloud resources to create, change or destroy. */
export function planHasChanges(plan: Plan): boolean {
  return plan.actions.length > 0 || (plan.resources ?? []).some((c) => c.action !== 'unchanged');
}

/**
 * `plan`: 0 no changes, 1 changes, 2 an error. `deploy`: 0 done, 1 some machines failed, 2 the deployment failed
 * (or was cancelled) with no machine failing. Several deployments exit with the highest code. (`check` has its own
 * bitmask, in the CLI.)
 */
export function exitCode(report: ReconcileReport): number {
  if (report.op === 'plan') return !report.ok ? 2 : planHasChanges(report.plan) ? 1 : 0;
  if (report.ok) return 0;
  return Object.values(report.machines).some((m) => m.error) ? 1 : 2;
}
