// Operations on machines outside the main loop: generations, rollback, destroy. Same ports, same pinning.
import pLimit from 'p-limit';
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import { emptyState, type Generation, type SshEndpoint } from '../core/model.js';
import { selectMachines } from '../plan/plan.js';
import type { StateHandle } from '../state/backend.js';
import { machine, provider, type ReconcileDeps, type Run } from '../observe/run.js';
import { type ReconcileRequest } from '../core/request.js';
import { closeAll, connectHost } from '../observe/hosts.js';
import { copyClosure } from './hosts.js';
import type { HostSession, ResourceManager } from '../core/ports.js';
import { collectFacts } from '../observe/targets.js';
import { destroyMachine, targetContext } from './targets.js';

export interface MachineResult<T> {
  machine: string;
  ok: boolean;
  value?: T;
  error?: { reason: string; message: string };
}

/** Open a run on recorded state without observing targets (their records say where they are). */
export async function openRun(
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
    await deps.prepare?.(physical, state);
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

export async function eachMachine<T>(
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

/** What an SSH client of one's own needs to reach a machine as Reconix does. */
export interface SshAccess {
  endpoint: SshEndpoint;
  /** The pinned host key ("type base64"), if one is known yet. */
  hostKey?: string;
  /** The machine's deployment.sshKeyFile; absent means the deployment's own client key. */
  keyFile?: string;
}

/** Where a machine is and which host key is pinned for it, from the spec and the recorded state. */
export async function sshAccess(
  req: ReconcileRequest,
  deps: ReconcileDeps,
  name: string,
): Promise<SshAccess> {
  const { run } = await openRun(req, deps, false);
  if (!run.physical.machines[name]) {
    const known = Object.keys(run.physical.machines).join(', ') || 'none';
    throw new ReconixError(Reason.InvalidManifest, `no machine ${name} in ${req.name} (machines: ${known})`);
  }
  return accessOf(run, name);
}

/** sshAccess for every selected machine (one evaluation); a machine that cannot be reached yet has its error. */
export async function sshAccessAll(
  req: ReconcileRequest,
  deps: ReconcileDeps,
): Promise<Map<string, SshAccess | ReconixError>> {
  const { run, selected } = await openRun(req, deps, false);
  const out = new Map<string, SshAccess | ReconixError>();
  for (const name of selected) {
    try {
      out.set(name, accessOf(run, name));
    } catch (err) {
      out.set(name, err as ReconixError);
    }
  }
  return out;
}

function accessOf(run: Run, name: string): SshAccess {
  const m = machine(run, name);
  const rec = run.state.machines[name];
  const target = run.targets[name];
  const endpoint = target?.endpoint ?? rec?.endpoint;
  if (!endpoint) {
    throw new ReconixError(Reason.HostUnreachable, `${name}: no address known yet (deploy it first)`);
  }
  const hostKey = m.hostPublicKey ?? rec?.hostKey ?? target?.facts.hostPublicKey;
  return { endpoint, ...(hostKey ? { hostKey } : {}), ...(m.sshKeyFile ? { keyFile: m.sshKeyFile } : {}) };
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

/**
 * Destroy what Reconix created for this deployment (local hosts, instances) and forget existing hosts; then, when
 * the whole deployment goes, its cloud resources in reverse dependency order.
 */
export async function destroy(
  req: ReconcileRequest,
  deps: ReconcileDeps,
  opts: { deleteNonEmptyBuckets?: boolean } = {},
): Promise<MachineResult<string>[]> {
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
    const whole = !req.include?.length && !req.exclude?.length;
    if (deps.resources && whole && Object.keys(run.state.machines).length === 0) {
      results.push(...(await destroyResources(run, deps.resources, opts)));
    }
    if (Object.keys(run.state.machines).length === 0 && Object.keys(run.state.resources).length === 0) {
      await deps.state.remove(req.name);
    }
    return results;
  } finally {
    await handle?.release();
  }
}

/** Resources go after the machines that use them; one result per resource. */
async function destroyResources(
  run: Run,
  resources: ResourceManager,
  opts: { deleteNonEmptyBuckets?: boolean },
): Promise<MachineResult<string>[]> {
  if (Object.keys(run.state.resources).length === 0) return [];
  const ctx = {
    deployment: run.req.name,
    physical: run.physical,
    state: run.state,
    save: run.save,
    log: run.deps.log,
  };
  try {
    const changes = await resources.destroy(ctx, opts);
    return changes.map((c) => ({ machine: c.resource, ok: true, value: c.note ?? 'resource' }));
  } catch (err) {
    const reason = (err as ReconixError).reason ?? Reason.DestroyFailed;
    return [{ machine: 'resources', ok: false, error: { reason, message: (err as Error).message } }];
  }
}

/** NixOps' stop, start and reboot: the targets' power, for machines Reconix created. */
export async function power(
  req: ReconcileRequest,
  deps: ReconcileDeps,
  op: 'stop' | 'start' | 'reboot',
): Promise<MachineResult<string>[]> {
  const { run, selected, handle } = await openRun(req, deps, true);
  try {
    return await Promise.all(
      selected.map(async (machine): Promise<MachineResult<string>> => {
        const rec = run.state.machines[machine];
        try {
          if (!rec?.target)
            throw new ReconixError(Reason.ProvisioningFailed, `${machine}: no target is recorded`);
          const p = provider(run, rec.targetEnv);
          const ctx = targetContext(run, machine);
          if (op === 'reboot' && p.reboot) {
            await p.reboot(machine, rec.target, ctx);
          } else {
            if (op !== 'start') await p.stop(machine, rec.target, ctx);
            if (op !== 'stop') rec.target = await p.start(machine, rec.target, ctx);
            await run.save();
          }
          deps.log.info(`machine ${op === 'stop' ? 'stopped' : op === 'start' ? 'started' : 'rebooted'}`, {
            deployment: req.name,
            machine,
          });
          return { machine, ok: true, value: rec.targetEnv };
        } catch (err) {
          const reason = (err as ReconixError).reason ?? Reason.ProvisioningFailed;
          return { machine, ok: false, error: { reason, message: (err as Error).message } };
        }
      }),
    );
  } finally {
    await handle?.release();
  }
}
