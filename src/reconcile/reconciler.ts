// One reconcile of one deployment: the same story for the CLI, the directory controller and Kubernetes.
import { failureOf } from '../core/errors.js';
import { Reason } from '../api/conditions.js';
import { emptyState } from '../core/model.js';
import type { ActionKind, Plan } from '../plan/actions.js';
import { mergePlans, planSystems, planTargets, selectMachines } from '../plan/plan.js';
import type { DeployStage, ReconcileRequest } from '../core/request.js';
import type { ReconcileDeps, Run } from '../observe/run.js';
import { closeAll, connectHosts, observeHosts, type Sessions } from '../observe/hosts.js';
import { applySystemActions } from '../apply/apply.js';
import { summarise, type ReconcileReport } from '../report/report.js';
import { applyTargetActions } from '../apply/targets.js';
import { collectFacts, observeTargets } from '../observe/targets.js';
import { placeKeyActions } from '../keys/plan.js';
import { planKeyStage } from '../apply/keys.js';

export async function reconcileDeployment(
  req: ReconcileRequest,
  deps: ReconcileDeps,
): Promise<ReconcileReport> {
  const started = deps.clock.now();
  const finish = (run: Run | undefined, plan: Plan, err?: unknown): ReconcileReport =>
    summarise(req, started, deps.clock.now(), run?.reports ?? {}, plan, err);

  // Only a deploy writes, so only a deploy takes the deployment's lock.
  let handle;
  try {
    handle = req.op === 'deploy' ? await deps.state.acquire(req.name, `reconix ${req.op}`) : undefined;
  } catch (err) {
    return finish(undefined, { machines: [], actions: [] }, err);
  }
  const state = handle ? handle.state : await deps.state.read(req.name).catch(() => emptyState(req.name));
  const save = handle ? () => handle.save() : async () => undefined;
  let sessions: Sessions = new Map();
  let plan: Plan = { machines: [], actions: [] };
  let run: Run | undefined;
  try {
    // Evaluate the physical view: which machines, where, which resources. Nothing is built yet.
    const physical = await deps.evaluator.physical(req.source);
    run = { req, deps, state, save, physical, targets: {}, reports: {}, resourceChanges: [] };
    await deps.prepare?.(physical, state);
    // A dry activation only asks hosts what would change, and --build-only only builds: neither creates
    // machines or cloud resources.
    const provisions = req.op === 'deploy' && req.mode !== 'dry-activate' && req.stopAfter !== 'build';
    const selected = selectMachines(Object.keys(physical.machines), req.include, req.exclude);
    for (const name of selected) {
      const m = physical.machines[name];
      if (m)
        run.reports[name] = { machine: name, env: m.targetEnv, verdict: 'unknown', outcome: 'unchanged' };
    }

    // Provision the cloud resources machines refer to (key pairs, security groups, volumes, buckets).
    // The manager decides whether it has work: machines' cloud attributes (an instance type) are its business too.
    if (deps.resources) {
      const resources = deps.resources;
      ({ changes: run.resourceChanges, facts: run.facts } = await resources.reconcile(
        { deployment: req.name, physical, state, save, log: deps.log },
        provisions,
      ));
    }

    // Observe the targets and make the missing ones exist.
    await observeTargets(run, selected);
    const targetPlan = planTargets({
      physical,
      selected,
      observed: run.targets,
      recorded: state,
      creates: (env) => deps.providers[env]?.creates ?? false,
      killObsolete: req.killObsolete ?? false,
    });
    for (const mp of targetPlan.machines) {
      const r = (run.reports[mp.machine] ??= {
        machine: mp.machine,
        env: mp.env,
        verdict: mp.verdict,
        outcome: 'unchanged',
      });
      r.verdict = mp.verdict;
      if (mp.verdict === 'obsolete') r.outcome = 'obsolete';
      if (mp.verdict === 'unreachable' && !r.error) {
        r.outcome = 'unreachable';
        r.error = {
          reason: Reason.HostUnreachable,
          message: `${mp.machine}: ${mp.note ?? 'unreachable'}`,
          reaction: 'retry',
        };
      }
    }
    if (provisions) await applyTargetActions(run, targetPlan.actions);

    // Connect to the machines that are up; a host seen for the first time has its key pinned here, before
    // the keys are injected into every machine's configuration.
    const live =
      req.stopAfter === 'create'
        ? []
        : selected.filter((n) => {
            const t = run?.targets[n];
            return t?.exists && t.running && !run?.reports[n]?.error;
          });
    // --build-only builds the machines that do not exist yet too (without their addresses, which they lack).
    const evaluated =
      req.stopAfter === 'build'
        ? selected.filter((n) => {
            const r = run?.reports[n];
            return r && !r.error && r.verdict !== 'obsolete';
          })
        : live;
    // Evaluate the systems of the machines that are up, with every machine's address and key injected, and ask
    // each host what it runs meanwhile. When every key is pinned already, connecting cannot change them, so
    // connecting runs at the same time as well.
    const r0 = run;
    const evaluate = async () =>
      evaluated.length > 0 ? await deps.evaluator.systems(req.source, collectFacts(r0), evaluated) : {};
    const pinned = live.every((n) => physical.machines[n]?.hostPublicKey ?? state.machines[n]?.hostKey);
    // connectHosts and observeHosts never reject (failures are per machine); the sessions are closed below
    // whatever happens.
    const opening = connectHosts(run, live);
    if (!pinned) await opening; // the keys it learns go into the evaluation
    const observing = opening.then(async (opened) => {
      sessions = opened;
      return observeHosts(r0, opened);
    });
    let desired: Awaited<ReturnType<typeof evaluate>>;
    let hosts: Awaited<typeof observing>;
    try {
      desired = await evaluate();
    } finally {
      hosts = await observing;
    }
    for (const [name, ref] of Object.entries(desired)) {
      const r = run.reports[name];
      if (r) {
        r.system = ref.outPath;
        const ep = run.targets[name]?.endpoint;
        if (ep) r.address = ep.host;
      }
    }
    for (const [name, view] of Object.entries(hosts)) {
      const r = run.reports[name];
      if (r && view.ok && view.observation.currentSystem) r.current = view.observation.currentSystem;
    }
    // A host that refused the connection (or its key) was not observed: the plan says so, with why.
    for (const n of live) {
      const error = run.reports[n]?.error;
      if (!sessions.has(n) && error) hosts[n] = { ok: false, error: error.message };
    }

    // Plan: what to build, copy and activate, and what drifted.
    const builtLocally = await deps.store.validPaths(Object.values(desired).map((ref) => ref.outPath));
    const env: Record<string, string> = {};
    for (const n of live) env[n] = physical.machines[n]?.targetEnv ?? 'none';
    const systemPlan = planSystems({
      env,
      desired: Object.fromEntries(Object.entries(desired).filter(([n]) => hosts[n])),
      hosts,
      recorded: state,
      builtLocally,
      driftPolicy: req.driftPolicy,
      mode: req.mode,
      alwaysActivate: req.alwaysActivate ?? false,
    });
    if (req.stopAfter === 'build') {
      // Machines without a host get their systems built as well.
      for (const [name, ref] of Object.entries(desired)) {
        if (!sessions.has(name) && !builtLocally.has(ref.outPath))
          systemPlan.actions.push({
            kind: 'build',
            machine: name,
            drvPath: ref.drvPath,
            outPath: ref.outPath,
          });
      }
    }

    // Keys: read their contents, compare with what each host has; a machine whose keys cannot be read is failed
    // and activates nothing. Dry activations deliver nothing.
    const keyStage = await planKeyStage(run, sessions, hosts);
    systemPlan.actions = placeKeyActions(
      systemPlan.actions.filter((a) => !keyStage.failed.has(a.machine)),
      req.mode === 'dry-activate' ? [] : keyStage.actions,
    );

    plan = mergePlans(targetPlan, systemPlan);
    if (run.resourceChanges.length > 0) plan.resources = run.resourceChanges;
    for (const mp of systemPlan.machines) {
      const r = run.reports[mp.machine];
      if (!r) continue;
      if (r.verdict !== 'create' && r.verdict !== 'start') r.verdict = mp.verdict;
      if (mp.verdict === 'held') r.outcome = 'held';
      if (req.op !== 'deploy' && (mp.verdict === 'update' || mp.verdict === 'drifted')) r.outcome = 'planned';
    }

    // Apply: build, copy, activate, each machine on its own (up to the stage asked for).
    if (req.op === 'deploy') {
      const stages = req.stopAfter ? STAGE_ACTIONS[req.stopAfter] : undefined;
      const actions = stages ? systemPlan.actions.filter((a) => stages.includes(a.kind)) : systemPlan.actions;
      await applySystemActions(run, actions, sessions, hosts);
      if (stages) {
        // What a full deploy would still do to a machine: create it, start it or activate its system.
        const activating = new Set(
          systemPlan.actions.filter((a) => a.kind === 'activate').map((a) => a.machine),
        );
        for (const r of Object.values(run.reports)) {
          if (r.error || r.outcome !== 'unchanged') continue;
          if (activating.has(r.machine) || ['create', 'start', 'update', 'drifted'].includes(r.verdict))
            r.outcome = 'planned';
        }
      }
    }
    const report = finish(run, plan);
    if (req.op === 'deploy') {
      state.status = {
        at: report.startedAt,
        ok: report.ok,
        reason: report.reason,
        message: report.message,
        ...(req.revision ? { revision: req.revision } : {}),
      };
      await save();
    }
    return report;
  } catch (err) {
    const failure = failureOf(err);
    deps.log.error('reconcile failed', {
      deployment: req.name,
      reason: failure.reason,
      reaction: failure.reaction,
      error: failure.message,
    });
    const report = finish(run, plan, err);
    if (req.op === 'deploy') {
      state.status = { at: report.startedAt, ok: false, reason: report.reason, message: report.message };
      await save().catch(() => undefined);
    }
    return report;
  } finally {
    closeAll(sessions);
    await handle?.release();
  }
}

/** What a deploy that stops after a stage still does. */
const STAGE_ACTIONS: Record<DeployStage, readonly ActionKind[]> = {
  create: [],
  build: ['build'],
  copy: ['build', 'copy'],
};
