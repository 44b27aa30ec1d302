// Operations on machines outside the main loop: generations, rollback, destroy. Same ports, same pinning.
import pLimit from 'p-limit';
import { Reason, ReconixError } from '../api/conditions.js';
import { emptyState, type Generation } from '../api/model.js';
import { selectMachines } from '../plan/plan.js';
import type { StateHandle } from '../state/backend.js';
import type { ReconcileDeps, ReconcileRequest, Run } from './context.js';
import { closeAll, connectHost, copyClosure } from './hosts.js';
import type { HostSession } from './ports.js';
import { collectFacts, destroyMachine } from './targets.js';

export interface MachineResult<T> {
  machine: string;
  ok: boolean;
  value?: T;
  error?: { reason: string; message: string };
}

/** Open a run on recorded state without observing targets (their records say where they are). */
async function openRun(
  req: ReconcileRequest,
  deps: ReconcileDeps,
  write: boolean,
  evaluate = true,
): Promise<{ run: Run; selected: string[]; handle?: StateHandle }> {
  const handle = write ? await deps.state.acquire(req.name, `reconix ${req.op}`) : undefined;
  try {
    const state = handle ? handle.state : await deps.state.read(req.name).catch(() => emptyState(req.name));
    const physical = evaluate
      ? await deps.evaluator.physical(req.source)
      : { description: '', machines: {}, resources: {} };
    const run: Run = {
      req,
      deps,
      state,
      save: handle ? () => handle.save() : async () => undefined,
      physical,
      targets: {},
      reports: {},
      resourceChanges: [],
    };
    const names = evaluate ? Object.keys(physical.machines) : Object.keys(state.machines);
    const selected = selectMachines(names, req.include, req.exclude);
    for (const n of selected) {
      const m = physical.machines[n];
      if (m) run.targets[n] = deps.providers[m.targetEnv]?.describe(m, state.machines[n]?.target);
    }
    return { run, selected, ...(handle ? { handle } : {}) };
  } catch (err) {
    await handle?.release();
    throw err;
  }
}

async function eachMachine<T>(
  run: Run,
  names: readonly string[],
  fn: (name: string, session: HostSession) => Promise<T>,
): Promise<MachineResult<T>[]> {
  const limit = pLimit(Math.max(1, run.req.maxParallel));
  return Promise.all(
    names.map((machine) =>
      limit(async (): Promise<MachineResult<T>> => {
        let session: HostSession | undefined;
        try {
          session = await connectHost(run, machine);
          return { machine, ok: true, value: await fn(machine, session) };
        } catch (err) {
          const reason = (err as ReconixError).reason ?? Reason.HostUnreachable;
          return { machine, ok: false, error: { reason, message: (err as Error).message } };
        } finally {
          if (session) closeAll(new Map([[machine, session]]));
        }
      }),
    ),
  );
}

export async function listGenerations(
  req: ReconcileRequest,
  deps: ReconcileDeps,
): Promise<MachineResult<Generation[]>[]> {
  const { run, selected } = await openRun(req, deps, false);
  return eachMachine(run, selected, (_n, s) => s.listGenerations());
}

/**
 * Roll machines back (or forward) to generation `n`. The machine is then held there while the spec is unchanged,
 * so a controller does not undo the rollback; a new spec releases the hold.
 */
export async function rollback(
  req: ReconcileRequest,
  deps: ReconcileDeps,
  n: number,
): Promise<MachineResult<{ system: string; copied: number }>[]> {
  const { run, selected, handle } = await openRun(req, deps, true);
  try {
    const desired = await deps.evaluator.systems(req.source, collectFacts(run), selected).catch(() => ({}));
    return await eachMachine(run, selected, async (name, session) => {
      const gens = await session.listGenerations();
      const gen = gens.find((g) => g.number === n);
      if (!gen) {
        throw new ReconixError(
          Reason.ActivationFailed,
          `${name} has no generation ${n} (it has ${gens.map((g) => g.number).join(', ') || 'none'})`,
          { reaction: 'stall' },
        );
      }
      // The host may have lost the closure (a wiped store): bring it back from here if we still have it.
      let copied = 0;
      if ((await session.missingPaths([gen.path])).length > 0) {
        if (!(await deps.store.isValid(gen.path))) {
          throw new ReconixError(
            Reason.CopyFailed,
            `${name}: ${gen.path} is gone from the host and from this machine`,
          );
        }
        copied = (await copyClosure(session, deps.store, gen.path)).paths;
      }
      await session.switchGeneration(n);
      await session.switchTo(gen.path, 'switch');
      const rec = (run.state.machines[name] ??= {
        targetEnv: run.physical.machines[name]?.targetEnv ?? 'none',
      });
      const at = deps.clock.now().toISOString();
      rec.activated = { system: gen.path, generation: n, mode: 'switch', at };
      const want = (desired as Record<string, { outPath: string }>)[name]?.outPath;
      if (want && want !== gen.path) rec.hold = { system: gen.path, whileDesired: want, generation: n };
      else delete rec.hold;
      await run.save();
      deps.log.info('machine rolled back', { deployment: req.name, machine: name, generation: n });
      return { system: gen.path, copied };
    });
  } finally {
    await handle?.release();
  }
}

export async function deleteGeneration(
  req: ReconcileRequest,
  deps: ReconcileDeps,
  n: number,
): Promise<MachineResult<number>[]> {
  const { run, selected } = await openRun(req, deps, false);
  return eachMachine(run, selected, async (name, session) => {
    const gens = await session.listGenerations();
    const gen = gens.find((g) => g.number === n);
    if (!gen)
      throw new ReconixError(Reason.ActivationFailed, `${name} has no generation ${n}`, {
        reaction: 'stall',
      });
    if (gen.current) {
      throw new ReconixError(
        Reason.ActivationFailed,
        `${name}: generation ${n} is the current one; roll back first`,
        {
          reaction: 'stall',
        },
      );
    }
    await session.deleteGenerations([n]);
    return n;
  });
}

/** Destroy what Reconix created for this deployment (local hosts, instances) and forget existing hosts. */
export async function destroy(req: ReconcileRequest, deps: ReconcileDeps): Promise<MachineResult<string>[]> {
  const { run, selected, handle } = await openRun(req, deps, true, false);
  try {
    const results = await Promise.all(
      selected.map(async (machine): Promise<MachineResult<string>> => {
        const env = run.state.machines[machine]?.targetEnv ?? 'none';
        try {
          await destroyMachine(run, machine, env);
          return { machine, ok: true, value: env };
        } catch (err) {
          return {
            machine,
            ok: false,
            error: { reason: Reason.DestroyFailed, message: (err as Error).message },
          };
        }
      }),
    );
    if (Object.keys(run.state.machines).length === 0 && Object.keys(run.state.resources).length === 0) {
      await deps.state.remove(req.name);
    }
    return results;
  } finally {
    await handle?.release();
  }
}
