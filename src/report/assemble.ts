// The report of a reconcile, assembled from what its stages returned: nothing else writes it.
import { Reason } from '../api/conditions.js';
import type { Failure } from '../core/errors.js';
import type { ReconcileRequest } from '../core/request.js';
import type { Plan } from '../plan/actions.js';
import { mergePlans } from '../plan/plan.js';
import { isPlanned, machineVerdict } from '../plan/stages.js';
import type { MachineFailure, RunResults } from './outcomes.js';
import { summarise, type MachineReport, type ReconcileReport } from './report.js';

export interface AssembleInput {
  req: ReconcileRequest;
  started: Date;
  ended: Date;
  results: RunResults;
  /** The run was cancelled: what is not done is left planned. */
  cancelled: boolean;
  /** The deployment as a whole failed (state, evaluation, a provider). */
  error?: unknown;
}

export function assembleReport(input: AssembleInput): ReconcileReport {
  const { req, results: r } = input;
  const machines = machineReports(input);
  return summarise(req, input.started, input.ended, machines, planOf(r), input.error, input.cancelled);
}

/** The plan as displayed: both phases merged, with the resources' changes. */
export function planOf(r: RunResults): Plan {
  const empty: Plan = { machines: [], actions: [] };
  if (!r.targetPlan) return empty;
  const plan = r.systemPlan ? mergePlans(r.targetPlan, r.systemPlan) : r.targetPlan;
  const changes = r.resources?.changes ?? [];
  return changes.length > 0 ? { ...plan, resources: changes } : plan;
}

function machineReports(input: AssembleInput): Record<string, MachineReport> {
  const { req, results: r } = input;
  const reports: Record<string, MachineReport> = {};
  const fail = (f: MachineFailure | { machine: string; failure: Failure }) => {
    const m = reports[f.machine];
    if (!m) return;
    m.outcome = m.outcome === 'unreachable' ? 'unreachable' : 'failed';
    m.error = f.failure;
    if ('unreachable' in f && f.unreachable) m.outcome = 'unreachable';
  };
  for (const name of r.selected ?? []) {
    const m = r.physical?.machines[name];
    if (m) reports[name] = { machine: name, env: m.targetEnv, verdict: 'unknown', outcome: 'unchanged' };
  }
  r.observed?.failures.forEach(fail);
  const targetVerdicts: Record<string, MachinePlanVerdict> = {};
  for (const mp of r.targetPlan?.machines ?? []) {
    targetVerdicts[mp.machine] = mp.verdict;
    const m = (reports[mp.machine] ??= {
      machine: mp.machine,
      env: mp.env,
      verdict: mp.verdict,
      outcome: 'unchanged',
    });
    m.verdict = mp.verdict;
    if (mp.verdict === 'obsolete') m.outcome = 'obsolete';
    if (mp.verdict === 'unreachable' && !m.error) {
      m.outcome = 'unreachable';
      m.error = {
        reason: Reason.HostUnreachable,
        message: `${mp.machine}: ${mp.note ?? 'unreachable'}`,
        reaction: 'retry',
      };
    }
  }
  for (const t of r.provisioned ?? []) {
    const m = reports[t.machine];
    if (t.failure) fail({ machine: t.machine, failure: t.failure });
    else if (m && t.created) m.created = true;
    else if (m && t.destroyed) m.outcome = 'destroyed';
  }
  r.configured?.connected.failures.forEach(fail);
  r.configured?.hosts.failures.forEach(fail);
  for (const [name, ref] of Object.entries(r.configured?.desired ?? {})) {
    const m = reports[name];
    if (!m) continue;
    m.system = ref.outPath;
    const ep = r.targets?.[name]?.endpoint;
    if (ep) m.address = ep.host;
  }
  for (const [name, view] of Object.entries(r.configured?.hosts.views ?? {})) {
    const m = reports[name];
    if (m && view.ok && view.observation.currentSystem) m.current = view.observation.currentSystem;
  }
  for (const mp of r.systemPlan?.machines ?? []) {
    const m = reports[mp.machine];
    if (!m) continue;
    m.verdict = machineVerdict(targetVerdicts[mp.machine], mp.verdict);
    if (mp.verdict === 'held') m.outcome = 'held';
  }
  for (const o of r.applied ?? []) {
    const m = reports[o.machine];
    if (!m) continue;
    if (o.built) m.built = true;
    if (o.copied) m.copied = o.copied;
    if (o.outcome) m.outcome = o.outcome;
    if (o.current) m.current = o.current;
    if (o.generation) m.generation = o.generation;
    if (o.failure) fail({ machine: o.machine, failure: o.failure });
  }
  const activating = new Set(
    (r.systemPlan?.actions ?? []).filter((a) => a.kind === 'activate').map((a) => a.machine),
  );
  const stopped = req.stopAfter !== undefined || input.cancelled;
  for (const m of Object.values(reports)) {
    const settled = m.error !== undefined || m.outcome !== 'unchanged';
    if (isPlanned({ op: req.op, stopped, verdict: m.verdict, activates: activating.has(m.machine), settled }))
      m.outcome = 'planned';
  }
  return reports;
}

type MachinePlanVerdict = MachineReport['verdict'];
