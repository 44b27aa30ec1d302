// Applying in health-gated waves: build everything once, then per wave copy, activate, check, bake (with an
// analysis gate if the wave has one) and go on, or stop and roll the wave back. Copies happen per wave, so the
// machines of later waves never receive a closure of a failed rollout.
import pLimit from 'p-limit';
import type { HealthCheck } from '../api/rollout.js';
import type { PhysicalView, RolloutRecord } from '../core/model.js';
import type { Action } from '../plan/actions.js';
import { assignWaves, checksFor, isGated, rolloutRevision, type WavePlan } from '../plan/waves.js';
import { runAnalysis } from '../observe/analysis.js';
import { runHealthChecks } from '../observe/health.js';
import type { RunContext, StateDoc } from '../observe/run.js';
import type { HostViews, Sessions } from '../observe/hosts.js';
import type { Targets } from '../observe/targets.js';
import type { MachineOutcome, RolloutReport } from '../report/outcomes.js';
import { applySystems, type Reconnect } from './apply.js';
import type { KeysRun } from './keys.js';
import { emitWave, rollBack } from './revert.js';

export interface RolloutInput {
  actions: readonly Action[];
  sessions: Sessions;
  hosts: Readonly<HostViews>;
  env: Readonly<Record<string, string>>;
  keys?: KeysRun;
  physical: PhysicalView;
  targets: Targets;
  /** The desired system of each machine that takes part. */
  systems: Readonly<Record<string, string>>;
  /** A new connection to a machine, for the confirmation of a detached activation. */
  reconnect?: Reconnect;
}

export interface RolloutResult {
  applied: MachineOutcome[];
  rollout?: RolloutReport;
}

type Failed = NonNullable<RolloutReport['failed']>;

/** Each machine's health checks and the waves, or undefined when the deployment is not gated at all. */
export function rolloutWaves(
  req: RunContext['req'],
  physical: PhysicalView,
  names: readonly string[],
): { waves: WavePlan[]; checks: Record<string, HealthCheck[]> } | undefined {
  const checks: Record<string, HealthCheck[]> = {};
  for (const n of names)
    checks[n] = checksFor(
      n,
      physical.machines[n]?.healthChecks,
      req.rollout?.healthChecks,
      req.source.builder === 'nixos',
    );
  const strategy = req.rollout?.strategy;
  if (!isGated(strategy, checks)) return undefined;
  const machines = names.map((n) => ({ name: n, tags: physical.machines[n]?.tags ?? [] }));
  return { waves: assignWaves(machines, strategy), checks };
}

export async function applyRollout(
  ctx: RunContext,
  doc: StateDoc,
  input: RolloutInput,
): Promise<RolloutResult> {
  const { req } = ctx;
  const names = Object.keys(input.systems).filter((n) => input.sessions.has(n));
  const strategy = req.rollout?.strategy;
  const apply = (actions: readonly Action[]) =>
    applySystems(
      ctx,
      doc,
      actions,
      input.sessions,
      input.hosts,
      input.env,
      input.keys,
      input.reconnect,
      input.physical,
    );
  const gated = rolloutWaves(req, input.physical, names);
  if (!gated || req.mode === 'dry-activate') return { applied: await apply(input.actions) };
  const { waves, checks } = gated;
  const revision = rolloutRevision(input.systems, checks, waves);
  const now = () => ctx.deps.clock.now().toISOString();
  const prior = doc.state.rollout;
  // A complete rollout starts over (drift corrections go in their waves); a retried failure too.
  const same =
    prior?.revision === revision &&
    prior.state !== 'complete' &&
    !(prior.state === 'failed' && req.retryFailedRollout);
  // The wave a run before a restart had started is checked and baked again, even with nothing left to change.
  const interrupted = same && prior.state === 'progressing' ? prior.done + 1 : 0;
  const rec: RolloutRecord = same
    ? prior
    : { revision, waves: waves.length, done: 0, state: 'progressing', at: now() };
  doc.state.rollout = rec;
  const report = (state: RolloutReport['state'], failed?: Failed): RolloutReport => ({
    revision,
    waves: waves.map((w) => ({
      wave: w.index,
      machines: w.machines,
      state: waveState(w.index, rec, state, failed),
    })),
    currentWave: Math.min(failed?.wave ?? rec.done + (state === 'paused' ? 0 : 1), waves.length),
    state,
    ...(failed ? { failed } : {}),
  });
  // A failed revision is not tried again by itself: a new spec, a changed file or an explicit deploy retries.
  if (rec.state === 'failed') return { applied: [], rollout: report('failed', rec.failed) };
  if (rec.state === 'paused') {
    const resumed = rec.resumeRequested || (req.resume !== undefined && req.resume !== rec.resumedWith);
    if (!resumed) return { applied: [], rollout: report('paused') };
    delete rec.resumeRequested;
    if (req.resume !== undefined) rec.resumedWith = req.resume;
    rec.state = 'progressing';
  }

  const outcomes = new Map<string, MachineOutcome>();
  const keep = (outs: readonly MachineOutcome[]) =>
    outs.forEach((o) => outcomes.set(o.machine, { ...outcomes.get(o.machine), ...o }));
  const pending = new Set(waves.filter((w) => w.index > rec.done).flatMap((w) => w.machines));
  keep(await apply(input.actions.filter((a) => a.kind === 'build' && pending.has(a.machine))));

  for (const wave of waves) {
    if (wave.index <= rec.done) continue;
    const inWave = new Set(wave.machines);
    const work = input.actions.filter((a) => inWave.has(a.machine) && a.kind !== 'build');
    if (!work.some((a) => a.kind === 'activate') && wave.index !== interrupted) {
      rec.done = wave.index;
      continue;
    }
    const failed = await runWave(ctx, input, wave, waves.length, work, checks, outcomes, keep, apply);
    if (failed) {
      rec.state = 'failed';
      rec.failed = failed;
      rec.at = now();
      const back = strategy?.rollbackCompleted ? waves.filter((w) => w.index <= wave.index) : [wave];
      await rollBack(ctx, doc, input, back, waves.length, failed, outcomes);
      await doc.checkpoint('machine-done');
      return { applied: [...outcomes.values()], rollout: report('failed', failed) };
    }
    rec.done = wave.index;
    rec.at = now();
    if (wave.pause && wave.index < waves.length) {
      rec.state = 'paused';
      emitWave(ctx, wave, waves.length, 'paused');
      await doc.checkpoint('machine-done');
      return { applied: [...outcomes.values()], rollout: report('paused') };
    }
    await doc.checkpoint('machine-done');
  }
  rec.state = 'complete';
  return { applied: [...outcomes.values()], rollout: report('complete') };
}

function waveState(index: number, rec: RolloutRecord, state: RolloutReport['state'], failed?: Failed) {
  if (failed && index === failed.wave) return 'failed';
  if (index <= rec.done) return 'passed';
  return state === 'complete' ? 'skipped' : 'pending';
}

/** One wave: copy and activate its machines, check every one of them, bake. Returns what failed, if anything. */
async function runWave(
  ctx: RunContext,
  input: RolloutInput,
  wave: WavePlan,
  total: number,
  work: readonly Action[],
  checks: Readonly<Record<string, HealthCheck[]>>,
  outcomes: Map<string, MachineOutcome>,
  keep: (outs: readonly MachineOutcome[]) => void,
  apply: (actions: readonly Action[]) => Promise<MachineOutcome[]>,
): Promise<Failed | undefined> {
  const { deps, req } = ctx;
  emitWave(ctx, wave, total, 'started');
  ctx.deps.log.info('rollout wave started', {
    deployment: req.name,
    wave: wave.index,
    machines: wave.machines.length,
  });
  const broken = wave.machines.map((m) => outcomes.get(m)).find((o) => o?.failure);
  if (broken?.failure)
    return { wave: wave.index, machine: broken.machine, check: 'build', message: broken.failure.message };
  keep(await apply(work));
  const failedActivation = wave.machines.map((m) => outcomes.get(m)).find((o) => o?.failure);
  if (failedActivation?.failure)
    return {
      wave: wave.index,
      machine: failedActivation.machine,
      check: 'activation',
      message: failedActivation.failure.message,
    };
  if (ctx.signal.aborted) return undefined;

  const limit = pLimit(Math.max(1, req.maxParallel));
  const verdicts = await Promise.all(
    wave.machines.map((machine) =>
      limit(async () => {
        const session = input.sessions.get(machine);
        const mine = checks[machine] ?? [];
        if (!session || mine.length === 0) return undefined;
        const at = deps.clock.now().toISOString();
        ctx.progress({
          type: 'machine',
          deployment: req.name,
          machine,
          stage: 'checking',
          wave: wave.index,
          at,
        });
        const address = input.targets[machine]?.endpoint?.host;
        const v = await runHealthChecks({ machine, session, ...(address ? { address } : {}) }, mine, {
          clock: deps.clock,
          signal: ctx.signal,
        });
        return v.ok ? undefined : { wave: wave.index, machine, check: v.check, message: v.message };
      }),
    ),
  );
  const unhealthy = verdicts.find((v) => v !== undefined);
  if (unhealthy) return unhealthy;

  if (wave.bakeMs > 0 || wave.analysis) {
    emitWave(ctx, wave, total, 'baking');
    const bake = deps.clock.sleep(wave.bakeMs);
    if (wave.analysis) {
      const analyse = deps.analysis ?? runAnalysis;
      const outcome = await analyse(
        wave.analysis,
        { deployment: req.name, machines: wave.machines },
        {
          clock: deps.clock,
          signal: ctx.signal,
        },
      ).catch((err: unknown) => ({
        verdict: 'failed' as const,
        message: err instanceof Error ? err.message : String(err),
      }));
      if (outcome.verdict === 'failed')
        return {
          wave: wave.index,
          machine: wave.machines.join(','),
          check: 'analysis',
          message: outcome.message,
        };
    }
    await bake;
  }
  emitWave(ctx, wave, total, 'passed');
  return undefined;
}
