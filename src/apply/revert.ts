// Rolling back machines of a failed rollout wave to the generation they ran before the rollout, and the wave events.
import pLimit from 'p-limit';
import { Reason } from '../api/conditions.js';
import type { ActivationMode } from '../api/deployment.js';
import type { HostObservation } from '../core/model.js';
import type { HostSession } from '../core/ports.js';
import type { WaveState } from '../core/progress.js';
import type { RunContext, StateDoc } from '../observe/run.js';
import type { WavePlan } from '../plan/waves.js';
import type { MachineOutcome, RolloutReport } from '../report/outcomes.js';
import type { HostViews, Sessions } from '../observe/hosts.js';

type Failed = NonNullable<RolloutReport['failed']>;

/**
 * The generation to go back to: the one that was current when this run observed the host, unless that one is
 * already the new system (a run before a restart activated it), then the newest older one that is not.
 */
export function previousGeneration(
  observed: HostObservation | undefined,
  system: string,
): { number: number; path: string } | undefined {
  const gens = [...(observed?.generations ?? [])].sort((a, b) => b.number - a.number);
  const current = gens.find((g) => g.current);
  if (current && current.path !== system) return current;
  return gens.find((g) => g.path !== system && (!current || g.number < current.number));
}

/** Switch one machine back; the state then records the old system as the one activated there. */
export async function revertMachine(
  doc: StateDoc,
  name: string,
  session: HostSession,
  previous: { number: number; path: string },
  mode: ActivationMode,
  now: string,
  why: string,
): Promise<void> {
  const path = await session.switchGeneration(previous.number);
  if (mode !== 'dry-activate') await session.switchTo(path, mode === 'boot' ? 'boot' : 'switch');
  const rec = doc.state.machines[name];
  if (rec) {
    rec.activated = { system: path, generation: previous.number, mode, at: now };
    rec.lastDeploy = { at: now, ok: false, message: why };
  }
}

export function emitWave(
  ctx: RunContext,
  w: WavePlan,
  total: number,
  state: WaveState,
  message?: string,
): void {
  ctx.progress({
    type: 'wave',
    deployment: ctx.req.name,
    wave: w.index,
    waves: total,
    machines: w.machines,
    state,
    at: ctx.deps.clock.now().toISOString(),
    ...(message ? { message } : {}),
  });
}

/** Switch the machines of `back` (the failed wave, or every wave up to it) back to what they ran before. */
export async function rollBack(
  ctx: RunContext,
  doc: StateDoc,
  input: {
    sessions: Sessions;
    hosts: Readonly<HostViews>;
    systems: Readonly<Record<string, string>>;
  },
  back: readonly WavePlan[],
  total: number,
  failed: Failed,
  outcomes: Map<string, MachineOutcome>,
): Promise<void> {
  const { deps, req } = ctx;
  const why = `rollout failed in wave ${failed.wave}: ${failed.machine}: ${failed.check}: ${failed.message}`;
  emitWave(ctx, back[back.length - 1]!, total, 'failed', why);
  const limit = pLimit(Math.max(1, req.maxParallel));
  for (const wave of [...back].reverse()) {
    await Promise.all(
      wave.machines.map((machine) =>
        limit(async () => {
          const session = input.sessions.get(machine);
          const system = input.systems[machine];
          const view = input.hosts[machine];
          const prev = system
            ? previousGeneration(view?.ok ? view.observation : undefined, system)
            : undefined;
          const out = outcomes.get(machine) ?? { machine };
          outcomes.set(machine, out);
          if (machine === failed.machine || failed.machine.split(',').includes(machine))
            out.failure = { reason: Reason.RolloutFailed, message: why, reaction: 'stall' };
          // Only a machine now running the new system goes back; one whose activation already rolled back stays.
          const runs = out.current === system || (view?.ok && view.observation.currentSystem === system);
          if (!session || !prev || !runs) return;
          const at = deps.clock.now().toISOString();
          ctx.progress({
            type: 'machine',
            deployment: req.name,
            machine,
            stage: 'rolling-back',
            wave: wave.index,
            at,
          });
          try {
            await revertMachine(doc, machine, session, prev, req.mode, at, why);
            out.rolledBack = true;
            out.current = prev.path;
            delete out.outcome;
            if (out.generation !== undefined) out.generation = prev.number;
            ctx.progress({
              type: 'machine',
              deployment: req.name,
              machine,
              stage: 'rolled-back',
              wave: wave.index,
              at: deps.clock.now().toISOString(),
              reason: Reason.RolloutFailed,
            });
            deps.log.warn('machine rolled back', {
              deployment: req.name,
              machine,
              wave: wave.index,
              generation: prev.number,
            });
          } catch (err) {
            const message = `${why}; rolling back to generation ${prev.number} failed: ${err instanceof Error ? err.message : String(err)}`;
            out.failure = { reason: Reason.RolloutFailed, message, reaction: 'retry' };
          }
        }),
      ),
    );
    emitWave(ctx, wave, total, 'rolled-back');
  }
}
