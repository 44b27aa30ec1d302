// One reconcile of one deployment: the same story for the CLI, the directory controller and Kubernetes. Two
// passes, each a sequence of stages that take values and return them; the report is assembled from what they
// returned, and the state is saved at named checkpoints.
import { failureOf } from '../core/errors.js';
import type { ReconcileRequest } from '../core/request.js';
import { planSystems, planTargets, selectMachines } from '../plan/plan.js';
import { buildsWithoutHost, provisions, reach, stageActions } from '../plan/stages.js';
import { evaluatePhysical, openState, type OpenedState } from '../observe/open.js';
import { runContext, type ReconcileDeps, type RunContext } from '../observe/run.js';
import { observeTargets, targetsAfter } from '../observe/targets.js';
import { closeAll, connectHost, evaluateWhileObserving } from '../observe/hosts.js';
import { diffSystems } from '../observe/diff.js';
import { reconcileResources } from '../apply/resources.js';
import { applyTargets } from '../apply/targets.js';
import { applySystems } from '../apply/apply.js';
import { applyRollout, rolloutWaves } from '../apply/rollout.js';
import { keysRun, planKeyStage } from '../apply/keys.js';
import { placeKeyActions } from '../keys/plan.js';
import { assembleReport } from '../report/assemble.js';
import type { RunResults } from '../report/outcomes.js';
import type { ReconcileReport } from '../report/report.js';
import { deploymentStage, machineStage } from '../observe/progress.js';
import { ended, watched } from './progress.js';

export async function reconcileDeployment(
  req: ReconcileRequest,
  deps: ReconcileDeps,
): Promise<ReconcileReport> {
  const watch = watched(req.progress);
  const ctx = runContext({ ...req, progress: watch.sink }, deps);
  const started = deps.clock.now();
  deploymentStage(ctx, 'started');
  const done: RunResults = {};
  let doc: OpenedState | undefined;
  let error: unknown;
  try {
    // Only a deploy writes, so only a deploy takes the deployment's lock.
    doc = await openState(req, deps, req.op === 'deploy');
    await provision(ctx, doc, done);
    // Before connecting, a cancelled run stops with its targets made and recorded.
    if (!ctx.signal.aborted) await configure(ctx, doc, done);
  } catch (err) {
    error = err;
    logFailure(ctx, err);
  } finally {
    closeAll(done.configured?.connected.sessions ?? new Map());
  }
  const report = (err: unknown) =>
    assembleReport({
      req,
      started,
      ended: deps.clock.now(),
      results: done,
      cancelled: ctx.signal.aborted,
      error: err,
    });
  const final = doc ? await finish(ctx, doc, report(error), report) : report(error);
  ended(ctx, final, watch.finished);
  return final;
}

/** Provision: the physical view, the cloud resources, the targets as they are, then the missing ones made. */
async function provision(ctx: RunContext, doc: OpenedState, done: RunResults): Promise<void> {
  const { req, deps } = ctx;
  deploymentStage(ctx, 'evaluating');
  ctx.enter('evaluate');
  const physical = (done.physical = await evaluatePhysical(req, deps, doc));
  const tagsOf = (n: string) => physical.machines[n]?.tags ?? [];
  const selected = (done.selected = selectMachines(
    Object.keys(physical.machines),
    req.include,
    req.exclude,
    tagsOf,
  ));
  ctx.enter('provision');
  const resources = (done.resources = await reconcileResources(ctx, doc, physical, provisions(req)));
  const observed = (done.observed = await observeTargets(ctx, doc, physical, selected, resources.facts));
  const targetPlan = (done.targetPlan = planTargets({
    physical,
    selected,
    observed: observed.seen,
    recorded: doc.state,
    creates: (env) => deps.providers[env]?.creates ?? false,
    killObsolete: req.killObsolete ?? false,
  }));
  const provisioned = provisions(req)
    ? await applyTargets(ctx, doc, physical, targetPlan.actions, resources.facts)
    : [];
  done.provisioned = provisioned;
  done.targets = targetsAfter(observed.seen, provisioned);
  await doc.checkpoint('provisioned');
}

/** Configure: connect, evaluate the systems while observing the hosts, plan, apply (up to the stage asked for). */
async function configure(ctx: RunContext, doc: OpenedState, done: RunResults): Promise<void> {
  const { req, deps } = ctx;
  const physical = done.physical!;
  const targets = done.targets ?? {};
  const names = reach({
    selected: done.selected ?? [],
    up: (n) => Boolean(targets[n]?.exists && targets[n]?.running),
    failed: failedSoFar(done),
    ...(req.stopAfter ? { stopAfter: req.stopAfter } : {}),
  });
  ctx.enter('observe');
  for (const n of names.evaluate) machineStage(ctx, n, 'evaluating');
  const configured = (done.configured = await evaluateWhileObserving(ctx, doc, physical, targets, names));
  const { desired, connected, hosts } = configured;
  ctx.enter('plan');
  const builtLocally = await deps.store.validPaths(Object.values(desired).map((ref) => ref.outPath));
  const env = Object.fromEntries(names.connect.map((n) => [n, physical.machines[n]?.targetEnv ?? 'none']));
  const systemPlan = (done.systemPlan = planSystems({
    env,
    desired: Object.fromEntries(Object.entries(desired).filter(([n]) => hosts.views[n])),
    hosts: hosts.views,
    recorded: doc.state,
    builtLocally,
    driftPolicy: req.driftPolicy,
    mode: req.mode,
    alwaysActivate: req.alwaysActivate ?? false,
  }));
  systemPlan.actions.push(
    ...buildsWithoutHost(req.stopAfter, desired, new Set(connected.sessions.keys()), builtLocally),
  );
  // Keys: read their contents, compare with what each host has; a machine whose keys cannot be read activates
  // nothing. Dry activations deliver nothing.
  const keys = keysRun(ctx, physical, doc.state, () => doc.checkpoint('machine-done'));
  const keyStage = await planKeyStage(keys, connected.sessions, hosts.views);
  done.keys = keys;
  systemPlan.actions = placeKeyActions(
    systemPlan.actions.filter((a) => !keyStage.failed.has(a.machine)),
    req.mode === 'dry-activate' ? [] : keyStage.actions,
  );
  if (req.diff && !ctx.signal.aborted) {
    done.diffs = await diffSystems(ctx, desired, connected.sessions, hosts.views);
    // The diff was asked for before applying: a machine that could not be diffed is left as it is.
    const undiffed = new Set(done.diffs.failures.map((f) => f.machine));
    systemPlan.actions = systemPlan.actions.filter((a) => !undiffed.has(a.machine));
  }
  const gated = rolloutWaves(
    req,
    physical,
    Object.keys(desired).filter((n) => hosts.views[n]),
  );
  if (gated) done.waves = gated.waves.map((w) => ({ wave: w.index, machines: w.machines }));
  // Between evaluation and apply: a cancelled run applies nothing.
  if (req.op !== 'deploy' || ctx.signal.aborted) return;
  ctx.enter('apply');
  const actions = stageActions(req.stopAfter, systemPlan.actions);
  // A new connection each time: it confirms that the host still accepts one.
  const reconnect = (name: string) =>
    connectHost(ctx, doc, physical, name, targets[name]?.endpoint, { fresh: true });
  if (req.stopAfter) {
    done.applied = await applySystems(
      ctx,
      doc,
      actions,
      connected.sessions,
      hosts.views,
      env,
      keys,
      reconnect,
      physical,
    );
    return;
  }
  // The rollout: in health-gated waves when the spec asks for them or machines declare checks.
  const systems = Object.fromEntries(Object.entries(desired).map(([n, ref]) => [n, ref.outPath]));
  const rolled = await applyRollout(ctx, doc, {
    actions,
    sessions: connected.sessions,
    hosts: hosts.views,
    env,
    keys,
    physical,
    targets,
    systems,
    reconnect,
  });
  done.applied = rolled.applied;
  if (rolled.rollout) done.rollout = rolled.rollout;
}

/** Machines that failed before connecting, or that planning found unreachable. */
function failedSoFar(done: RunResults): Set<string> {
  return new Set([
    ...(done.observed?.failures ?? []).map((f) => f.machine),
    ...(done.provisioned ?? []).filter((t) => t.failure).map((t) => t.machine),
    ...(done.targetPlan?.machines ?? []).filter((m) => m.verdict === 'unreachable').map((m) => m.machine),
  ]);
}

function logFailure(ctx: RunContext, err: unknown): void {
  const failure = failureOf(err);
  ctx.deps.log.error('reconcile failed', {
    deployment: ctx.req.name,
    reason: failure.reason,
    reaction: failure.reaction,
    error: failure.message,
  });
}

/**
 * The last checkpoint: a deploy records how it went (the revision, unless the deployment as a whole failed);
 * when that save fails, so does the reconcile. Then the lock is released.
 */
async function finish(
  ctx: RunContext,
  doc: OpenedState,
  report: ReconcileReport,
  failed: (err: unknown) => ReconcileReport,
): Promise<ReconcileReport> {
  const { req } = ctx;
  ctx.enter('report');
  const record = (r: ReconcileReport) => {
    const revision = r.error?.scope !== 'deployment' && req.revision ? { revision: req.revision } : {};
    doc.state.status = { at: r.startedAt, ok: r.ok, reason: r.reason, message: r.message, ...revision };
    return doc.checkpoint('finished');
  };
  try {
    if (req.op !== 'deploy') return report;
    if (report.error?.scope === 'deployment') {
      await record(report).catch(() => undefined);
      return report;
    }
    try {
      await record(report);
      return report;
    } catch (err) {
      logFailure(ctx, err);
      const again = failed(err);
      await record(again).catch(() => undefined);
      return again;
    }
  } finally {
    await doc.release();
  }
}
