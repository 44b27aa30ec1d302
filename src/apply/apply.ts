// Configuring, applied: build what changed (one Nix call), then copy and activate machine by machine, capped.
// A cancelled run stops between machines and before each copy and activation, never inside one.
import { randomBytes } from 'node:crypto';
import pLimit from 'p-limit';
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import type { Action } from '../plan/actions.js';
import { assertNever } from '../plan/actions.js';
import { machineFailure, type RunContext, type StateDoc } from '../observe/run.js';
import type { Failure } from '../core/errors.js';
import type { MachineOutcome } from '../report/outcomes.js';

export type { MachineOutcome };
import type { HostViews, Sessions } from '../observe/hosts.js';
import { activate, copyClosure, type DetachedSettings } from './hosts.js';
import { RolledBackError } from './magic.js';
import { applyKeyStep, type KeysRun } from './keys.js';
import type { CopyStats, HostSession, StorePathInfo } from '../core/ports.js';
import { deploymentStage, machineStage, outputLine, throttled } from '../observe/progress.js';
import type { PhysicalView } from '../core/model.js';
import { copyModeOf, copyThroughCache, type CacheRun } from './cache-copy.js';

type Build = Extract<Action, { kind: 'build' }>;

export async function applySystems(
  ctx: RunContext,
  doc: StateDoc,
  actions: readonly Action[],
  sessions: Sessions,
  hosts: Readonly<HostViews>,
  env: Readonly<Record<string, string>>,
  keys?: KeysRun,
  reconnect?: Reconnect,
  physical?: PhysicalView,
): Promise<MachineOutcome[]> {
  const byMachine = new Map<string, Action[]>();
  for (const a of actions) byMachine.set(a.machine, [...(byMachine.get(a.machine) ?? []), a]);
  const outcomes = new Map<string, MachineOutcome>();
  const outcome = (machine: string) =>
    outcomes.get(machine) ?? outcomes.set(machine, { machine }).get(machine)!;
  if (ctx.signal.aborted) {
    for (const name of byMachine.keys()) outcome(name).cancelled = true;
    return [...outcomes.values()];
  }

  const builds = actions.filter((a): a is Build => a.kind === 'build');
  const buildFailed = await buildSystems(ctx, builds);
  for (const b of builds) {
    const failure = buildFailed.get(b.machine);
    if (failure) {
      outcome(b.machine).failure = failure;
      machineStage(ctx, b.machine, 'failed', { reason: failure.reason, message: failure.message });
    } else outcome(b.machine).built = true;
  }
  deploymentStage(ctx, 'applying');

  // Every closure in one query, rather than one process per machine.
  const copies = actions
    .filter((a) => a.kind === 'copy' && !buildFailed.has(a.machine))
    .map((a) => (a as { system: string }).system);
  const closures =
    copies.length > 0
      ? await ctx.deps.store.closures([...new Set(copies)])
      : new Map<string, StorePathInfo[]>();
  const steps: StepContext = {
    ctx,
    doc,
    closures,
    hosts,
    env,
    caches: new Map(),
    ...(keys ? { keys } : {}),
    ...(reconnect ? { reconnect } : {}),
    ...(physical ? { physical } : {}),
  };

  const limit = pLimit(Math.max(1, ctx.req.maxParallel));
  await Promise.all(
    [...byMachine].map(([name, machineSteps]) =>
      limit(async () => {
        const session = sessions.get(name);
        if (buildFailed.has(name) || !session) return;
        await applyMachine(steps, outcome(name), machineSteps, session);
      }),
    ),
  );
  return [...outcomes.values()];
}

/** Build every changed machine in one call: Nix schedules the builds in parallel and shares what they share. */
async function buildSystems(ctx: RunContext, builds: readonly Build[]): Promise<Map<string, Failure>> {
  const failed = new Map<string, Failure>();
  if (builds.length === 0) return failed;
  const { deps, req } = ctx;
  deploymentStage(ctx, 'building');
  for (const b of builds) machineStage(ctx, b.machine, 'building');
  // One Nix call builds them all, so each machine shows the count of the whole call.
  const counted = throttled<[number, number]>(250, ([done, total]) => {
    for (const b of builds) machineStage(ctx, b.machine, 'building', { built: { done, total } });
  });
  try {
    // One root per machine system and deployment: a newer build replaces the older root.
    await deps.store.realise(
      builds.map((b) => b.drvPath),
      `${deps.gcRootDir}/${req.name}`,
      {
        built: (done, total) => counted.push([done, total]),
        line: (line) => outputLine(ctx, 'build', line),
      },
    );
    counted.flush();
  } catch (err) {
    counted.flush();
    // Find out which machines' systems did not get built; the others go on.
    const built = await deps.store.validPaths(builds.map((b) => b.outPath));
    for (const b of builds)
      if (!built.has(b.outPath))
        failed.set(b.machine, machineFailure(ctx, b.machine, err, Reason.BuildFailed, 'building'));
  }
  return failed;
}

interface StepContext {
  ctx: RunContext;
  doc: StateDoc;
  closures: ReadonlyMap<string, StorePathInfo[]>;
  hosts: Readonly<HostViews>;
  env: Readonly<Record<string, string>>;
  /** The binary caches this apply opened (copy mode "cache"). */
  caches: CacheRun;
  keys?: KeysRun;
  reconnect?: Reconnect;
  /** Where each machine's deployment.copy comes from; without it every machine pushes. */
  physical?: PhysicalView;
}

/** A new SSH connection to a machine, its host key checked against the pin as always. */
export type Reconnect = (machine: string) => Promise<HostSession>;

/** One machine's steps in order; a failure ends them and is recorded, and so is the activation. */
async function applyMachine(
  steps: StepContext,
  out: MachineOutcome,
  actions: readonly Action[],
  session: HostSession,
): Promise<void> {
  const { ctx, doc } = steps;
  let stage = 'applying';
  try {
    for (const step of actions) {
      stage = step.kind === 'copy' ? 'copying' : step.kind === 'activate' ? 'activating' : stage;
      // The safe points: nothing of this machine's copy or activation has started.
      if (ctx.signal.aborted && (step.kind === 'copy' || step.kind === 'activate')) {
        out.cancelled = true;
        return;
      }
      await applyStep(steps, out, step, session);
    }
    machineStage(ctx, out.machine, 'done');
  } catch (err) {
    out.failure = machineFailure(ctx, out.machine, err, Reason.ActivationFailed, stage);
    if (err instanceof RolledBackError) out.outcome = 'rolled-back';
    machineStage(ctx, out.machine, 'failed', { reason: out.failure.reason, message: out.failure.message });
    const rec = doc.state.machines[out.machine];
    if (rec)
      rec.lastDeploy = { at: ctx.deps.clock.now().toISOString(), ok: false, message: out.failure.message };
    await doc.checkpoint('machine-done');
  }
}

async function applyStep(
  steps: StepContext,
  out: MachineOutcome,
  step: Action,
  session: HostSession,
): Promise<void> {
  switch (step.kind) {
    case 'build':
      return; // done above, for all machines at once
    case 'copy':
      out.copied = await copyStep(steps, step.machine, step.system, session);
      return;
    case 'activate':
      return activateStep(steps, out, step, session);
    case 'report-drift':
      out.outcome = 'drift-reported';
      steps.ctx.deps.log.warn('drift detected', {
        deployment: steps.ctx.req.name,
        machine: step.machine,
        expected: step.expected,
        actual: step.actual,
      });
      return;
    case 'deliver-keys':
      if (!steps.keys) throw new Error('keys to deliver, but no keys stage ran');
      return applyKeyStep(steps.keys, step, session);
    case 'create-target':
    case 'start-target':
    case 'destroy-target':
      throw new Error(`${step.kind} is not a system action`);
    default:
      assertNever(step);
  }
}

async function copyStep(
  steps: StepContext,
  machine: string,
  system: string,
  session: HostSession,
): Promise<CopyStats> {
  const { ctx } = steps;
  const setting = copyModeOf(steps.physical, steps.doc, machine);
  const sent = throttled<{ bytes: number; total: number; mode: 'push' | 'cache' }>(250, (copied) =>
    machineStage(ctx, machine, 'copying', { copied }),
  );
  const count = (bytes: number, total: number) => sent.push({ bytes, total, mode: setting.mode });
  machineStage(ctx, machine, 'copying');
  try {
    const closure = steps.closures.get(system) ?? (await ctx.deps.store.closures([system])).get(system) ?? [];
    if (setting.mode === 'cache') {
      return await copyThroughCache(ctx, steps.caches, session, setting.cache, system, closure, count);
    }
    return { ...(await copyClosure(session, ctx.deps.store, system, closure, count)), mode: 'push' };
  } catch (err) {
    // Say it was the copy that failed, keeping what the error knows about itself (its reaction).
    if (err instanceof ReconixError) throw err;
    throw new ReconixError(Reason.CopyFailed, err instanceof Error ? err.message : String(err), {
      cause: err,
    });
  } finally {
    sent.flush();
  }
}

async function activateStep(
  steps: StepContext,
  out: MachineOutcome,
  step: Extract<Action, { kind: 'activate' }>,
  session: HostSession,
): Promise<void> {
  const { ctx, doc } = steps;
  const name = step.machine;
  const view = steps.hosts[name];
  const observed = view?.ok ? view.observation : undefined;
  // With the line below, who switched which machine when can be told from the logs of several replicas.
  ctx.deps.log.info('machine activating', {
    deployment: ctx.req.name,
    machine: name,
    system: step.system,
    mode: step.mode,
  });
  const settings = detached(steps, name);
  // A detached activation reports its own stages (activating, confirming, rolling back).
  if (!(settings && session.runCommand && step.mode !== 'dry-activate'))
    machineStage(ctx, name, 'activating');
  const { generation } = await activate(session, step.system, step.mode, observed, settings, (line) => {
    if (line.trim() !== '') outputLine(ctx, 'activation', line, name);
  });
  if (step.mode === 'dry-activate') {
    out.outcome = 'planned';
    return;
  }
  const now = ctx.deps.clock.now().toISOString();
  const rec = (doc.state.machines[name] ??= { targetEnv: steps.env[name] ?? 'none' });
  rec.activated = { system: step.system, mode: step.mode, at: now, ...(generation ? { generation } : {}) };
  rec.lastDeploy = { at: now, ok: true };
  if (rec.hold && rec.hold.system !== step.system) delete rec.hold;
  await doc.checkpoint('machine-done');
  out.outcome = step.cause === 'drift' ? 'drift-corrected' : 'activated';
  out.current = step.system;
  if (generation) out.generation = generation;
  ctx.deps.log.info('machine activated', {
    deployment: ctx.req.name,
    machine: name,
    stage: 'activating',
    system: step.system,
    mode: step.mode,
    cause: step.cause,
    generation,
  });
}

/** How this machine's activation runs detached on the host, or undefined where it cannot (no reconnection). */
function detached(steps: StepContext, machine: string): DetachedSettings | undefined {
  const { ctx, reconnect } = steps;
  if (!reconnect) return undefined;
  const { req, deps } = ctx;
  return {
    id: `${deps.clock.now().getTime()}-${randomBytes(4).toString('hex')}`,
    confirmTimeoutMs: req.magicRollback === false ? 0 : (req.confirmTimeoutMs ?? 30_000),
    activationTimeoutMs: req.activationTimeoutMs ?? 600_000,
    reconnect: () => reconnect(machine),
    progress: (stage, reason) =>
      ctx.progress({
        type: 'machine',
        deployment: req.name,
        machine,
        stage,
        at: deps.clock.now().toISOString(),
        ...(reason ? { reason } : {}),
      }),
  };
}
