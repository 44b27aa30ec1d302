// The report of a reconcile, assembled from what its stages returned: nothing else writes it.
import { Reason } from '../api/conditions.js';
import type { ReconcileRequest } from '../core/request.js';
import type { Plan } from '../plan/actions.js';
import { mergePlans } from '../plan/plan.js';
import { isPlanned, machineVerdict } from '../plan/stages.js';
import type { MachineFailure, RolloutReport, RunResults } from './outcomes.js';
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
  const report = summarise(
    req,
    input.started,
    input.ended,
    machines,
    planOf(r),
    input.error,
    input.cancelled,
  );
  return r.rollout && input.error === undefined && !input.cancelled ? withRollout(report, r.rollout) : report;
}

/** The plan as displayed: both phases merged, with the resources' changes. */
export function planOf(r: RunResults): Plan {
  const empty: Plan = { machines: [], actions: [] };
  if (!r.targetPlan) return empty;
  const plan = r.systemPlan ? mergePlans(r.targetPlan, r.systemPlan) : r.targetPlan;
  const changes = r.resources?.changes ?? [];
  const withWaves = r.waves ? { ...plan, waves: r.waves } : plan;
  return changes.length > 0 ? { ...withWaves, resources: changes } : withWaves;
}

type Reports = Record<string, MachineReport>;

/** Each machine's report, built in the order of the stages: a later stage's failure or outcome wins. */
function machineReports(input: AssembleInput): Reports {
  const { req, results: r } = input;
  const reports: Reports = {};
  for (const name of r.selected ?? []) {
    const m = r.physical?.machines[name];
    if (m) reports[name] = { machine: name, env: m.targetEnv, verdict: 'unknown', outcome: 'unchanged' };
  }
  provisioned(reports, r);
  configured(reports, r);
  keyed(reports, r);
  diffed(reports, r);
  applied(reports, r);
  const activating = new Set(
    (r.systemPlan?.actions ?? []).filter((a) => a.kind === 'activate').map((a) => a.machine),
  );
  const stopped =
    req.stopAfter !== undefined ||
    input.cancelled ||
    (r.rollout !== undefined && r.rollout.state !== 'complete');
  for (const m of Object.values(reports)) {
    const settled = m.error !== undefined || m.outcome !== 'unchanged' || m.rolledBack === true;
    if (isPlanned({ op: req.op, stopped, verdict: m.verdict, activates: activating.has(m.machine), settled }))
      m.outcome = 'planned';
  }
  return reports;
}

function fail(reports: Reports, f: MachineFailure): void {
  const m = reports[f.machine];
  if (!m) return;
  if (m.outcome !== 'rolled-back') {
    m.outcome = m.outcome === 'unreachable' || f.unreachable ? 'unreachable' : 'failed';
  }
  m.error = f.failure;
}

/** The targets: observed (or not), planned, created, started, destroyed. */
function provisioned(reports: Reports, r: RunResults): void {
  for (const f of r.observed?.failures ?? []) fail(reports, f);
  for (const mp of r.targetPlan?.machines ?? []) {
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
    if (t.failure) fail(reports, { machine: t.machine, failure: t.failure });
    else if (m && t.created) m.created = true;
    else if (m && t.destroyed) m.outcome = 'destroyed';
  }
}

/** The keys: what each machine lacks and was sent (the report object is shared with the apply that fills it). */
function keyed(reports: Reports, r: RunResults): void {
  for (const f of r.keys?.failures ?? []) fail(reports, f);
  for (const [name, k] of Object.entries(r.keys?.reports ?? {})) {
    const m = reports[name];
    if (m) m.keys = k;
  }
}

/** The hosts connected and observed, the systems evaluated, and the verdicts of both plans. */
function configured(reports: Reports, r: RunResults): void {
  for (const f of r.configured?.connected.failures ?? []) fail(reports, f);
  for (const f of r.configured?.hosts.failures ?? []) fail(reports, f);
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
    if (m && view.ok && view.observation.lastActivation) m.lastActivation = view.observation.lastActivation;
  }
  const targetVerdicts = new Map((r.targetPlan?.machines ?? []).map((mp) => [mp.machine, mp.verdict]));
  for (const mp of r.systemPlan?.machines ?? []) {
    const m = reports[mp.machine];
    if (!m) continue;
    m.verdict = machineVerdict(targetVerdicts.get(mp.machine), mp.verdict);
    if (mp.verdict === 'held') m.outcome = 'held';
  }
}

/** The closure diffs of --diff, and the machines that could not be diffed. */
function diffed(reports: Reports, r: RunResults): void {
  for (const f of r.diffs?.failures ?? []) fail(reports, f);
  for (const [name, d] of Object.entries(r.diffs?.diffs ?? {})) {
    const m = reports[name];
    if (m) m.diff = d;
  }
}

/** What the builds, copies and activations did. */
function applied(reports: Reports, r: RunResults): void {
  for (const o of r.applied ?? []) {
    const m = reports[o.machine];
    if (!m) continue;
    if (o.built) m.built = true;
    if (o.copied) m.copied = o.copied;
    if (o.outcome) m.outcome = o.outcome;
    if (o.current) m.current = o.current;
    if (o.generation) m.generation = o.generation;
    if (o.rolledBack) m.rolledBack = true;
    if (o.failure) fail(reports, { machine: o.machine, failure: o.failure });
  }
}

/** A failed rollout fails the deployment whatever its machines say, and stalls it until something changes. */
function withRollout(report: ReconcileReport, rollout: RolloutReport): ReconcileReport {
  const withIt = { ...report, rollout };
  const total = rollout.waves.length;
  if (rollout.state === 'failed' && rollout.failed) {
    const f = rollout.failed;
    const message = `rollout failed in wave ${f.wave} of ${total}: machine ${f.machine}, check ${f.check}: ${f.message}`;
    const error = {
      reason: Reason.RolloutFailed,
      message,
      reaction: 'stall' as const,
      scope: 'machines' as const,
    };
    return { ...withIt, ok: false, reason: Reason.RolloutFailed, message, error };
  }
  if (rollout.state === 'paused' && report.ok) {
    const message = `rollout paused after wave ${rollout.currentWave} of ${total}: resume with \`reconix rollout resume ${report.deployment}\` (or the reconix.dev/resume annotation)`;
    return { ...withIt, reason: Reason.RolloutPaused, message };
  }
  return withIt;
}
