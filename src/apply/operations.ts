// Operations on machines outside the main loop: generations, rollback, destroy. Same ports, same pinning, and
// the same opening as a reconcile.
import pLimit from 'p-limit';
import { machineStage } from '../observe/progress.js';
import { Reason } from '../api/conditions.js';
import { failureOf, ReconixError } from '../core/errors.js';
import type { Generation, PhysicalView, SshEndpoint } from '../core/model.js';
import { selectMachines } from '../plan/plan.js';
import { machine, provider, runContext, type ReconcileDeps, type RunContext } from '../observe/run.js';
import { evaluatePhysical, openState, type OpenedState } from '../observe/open.js';
import { type ReconcileRequest } from '../core/request.js';
import { closeAll, connectHost } from '../observe/hosts.js';
import { copyClosure } from './hosts.js';
import type { HostSession, ResourceManager } from '../core/ports.js';
import { collectFacts, type Targets } from '../observe/targets.js';
import { resourceContext } from './resources.js';
import { destroyMachine, targetContext } from './targets.js';

export interface MachineResult<T> {
  machine: string;
  ok: boolean;
  value?: T;
  error?: { reason: string; message: string };
}

interface Opened {
  ctx: RunContext;
  doc: OpenedState;
  physical: PhysicalView;
  /** The selected machines' targets as their records describe them (not observed). */
  targets: Targets;
  selected: string[];
}

/** Open a run on recorded state without observing targets (their records say where they are). */
export async function openRun(
  req: ReconcileRequest,
  deps: ReconcileDeps,
  write: boolean,
  evaluate = true,
): Promise<Opened> {
  const doc = await openState(req, deps, write);
  try {
    const physical = evaluate
      ? await evaluatePhysical(req, deps, doc)
      : { description: '', machines: {}, resources: {} };
    const names = evaluate ? Object.keys(physical.machines) : Object.keys(doc.state.machines);
    const selected = selectMachines(names, req.include, req.exclude, (n) => physical.machines[n]?.tags ?? []);
    const targets: Record<string, Targets[string]> = {};
    for (const n of selected) {
      const m = physical.machines[n];
      if (m) targets[n] = deps.providers[m.targetEnv]?.describe(m, doc.state.machines[n]?.target);
    }
    return { ctx: runContext(req, deps), doc, physical, targets, selected };
  } catch (err) {
    await doc.release();
    throw err;
  }
}

/** A machine's result from an error: its reason, or `fallback` when it names none. */
function failedResult<T>(machine: string, err: unknown, fallback: Reason): MachineResult<T> {
  const { reason, message } = failureOf(err, fallback);
  return { machine, ok: false, error: { reason, message } };
}

export async function eachMachine<T>(
  run: Opened,
  names: readonly string[],
  fn: (name: string, session: HostSession) => Promise<T>,
): Promise<MachineResult<T>[]> {
  const limit = pLimit(Math.max(1, run.ctx.req.maxParallel));
  return Promise.all(
    names.map((machine) =>
      limit(async (): Promise<MachineResult<T>> => {
        let session: HostSession | undefined;
        try {
          session = await connectHost(
            run.ctx,
            run.doc,
            run.physical,
            machine,
            run.targets[machine]?.endpoint,
          );
          const value = await fn(machine, session);
          machineStage(run.ctx, machine, 'done');
          return { machine, ok: true, value };
        } catch (err) {
          const failed = failedResult<T>(machine, err, Reason.HostUnreachable);
          machineStage(run.ctx, machine, 'failed', { ...failed.error });
          return failed;
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
  const run = await openRun(req, deps, false);
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
  const run = await openRun(req, deps, false);
  const out = new Map<string, SshAccess | ReconixError>();
  for (const name of run.selected) {
    try {
      out.set(name, accessOf(run, name));
    } catch (err) {
      out.set(name, err as ReconixError);
    }
  }
  return out;
}

function accessOf(run: Opened, name: string): SshAccess {
  const m = machine(run.physical, name);
  const rec = run.doc.state.machines[name];
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
  const run = await openRun(req, deps, false);
  return eachMachine(run, run.selected, (_n, s) => s.listGenerations());
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
  const run = await openRun(req, deps, true);
  try {
    const facts = collectFacts(run.ctx, run.doc, run.physical, run.targets);
    const desired = await deps.evaluator.systems(req.source, facts, run.selected).catch(() => ({}));
    return await eachMachine(run, run.selected, async (name, session) => {
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
        machineStage(run.ctx, name, 'copying');
        copied = (await copyClosure(session, deps.store, gen.path)).paths;
      }
      machineStage(run.ctx, name, 'activating');
      await session.switchGeneration(n);
      await session.switchTo(gen.path, 'switch');
      const rec = (run.doc.state.machines[name] ??= {
        targetEnv: run.physical.machines[name]?.targetEnv ?? 'none',
      });
      const at = deps.clock.now().toISOString();
      rec.activated = { system: gen.path, generation: n, mode: 'switch', at };
      const want = (desired as Record<string, { outPath: string }>)[name]?.outPath;
      if (want && want !== gen.path) rec.hold = { system: gen.path, whileDesired: want, generation: n };
      else delete rec.hold;
      await run.doc.checkpoint('machine-done');
      run.ctx.deps.log.info('machine rolled back', {
        deployment: req.name,
        machine: name,
        stage: 'activating',
        generation: n,
      });
      return { system: gen.path, copied };
    });
  } finally {
    await run.doc.release();
  }
}

export async function deleteGeneration(
  req: ReconcileRequest,
  deps: ReconcileDeps,
  n: number,
): Promise<MachineResult<number>[]> {
  const run = await openRun(req, deps, false);
  return eachMachine(run, run.selected, async (name, session) => {
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
  const run = await openRun(req, deps, true, false);
  const { state } = run.doc;
  try {
    const results = await Promise.all(
      run.selected.map(async (machine): Promise<MachineResult<string>> => {
        const env = state.machines[machine]?.targetEnv ?? 'none';
        try {
          await destroyMachine(run.ctx, run.doc, run.physical, machine, env);
          await run.doc.checkpoint('machine-done');
          machineStage(run.ctx, machine, 'done');
          return { machine, ok: true, value: env };
        } catch (err) {
          // Whatever the error says, it is the destroy that failed.
          const error = { reason: Reason.DestroyFailed, message: failureOf(err).message };
          machineStage(run.ctx, machine, 'failed', error);
          return { machine, ok: false, error };
        }
      }),
    );
    const whole = !req.include?.length && !req.exclude?.length;
    if (deps.resources && whole && Object.keys(state.machines).length === 0) {
      results.push(...(await destroyResources(run, deps.resources, opts)));
    }
    if (Object.keys(state.machines).length === 0 && Object.keys(state.resources).length === 0) {
      await deps.state.remove(req.name);
    }
    return results;
  } finally {
    await run.doc.release();
  }
}

/** Resources go after the machines that use them; one result per resource. */
async function destroyResources(
  run: Opened,
  resources: ResourceManager,
  opts: { deleteNonEmptyBuckets?: boolean },
): Promise<MachineResult<string>[]> {
  if (Object.keys(run.doc.state.resources).length === 0) return [];
  try {
    const changes = await resources.destroy(resourceContext(run.ctx, run.doc, run.physical), opts);
    return changes.map((c) => ({ machine: c.resource, ok: true, value: c.note ?? 'resource' }));
  } catch (err) {
    return [failedResult('resources', err, Reason.DestroyFailed)];
  }
}

/** NixOps' stop, start and reboot: the targets' power, for machines Reconix created. */
export async function power(
  req: ReconcileRequest,
  deps: ReconcileDeps,
  op: 'stop' | 'start' | 'reboot',
): Promise<MachineResult<string>[]> {
  const run = await openRun(req, deps, true);
  try {
    return await Promise.all(
      run.selected.map(async (machine): Promise<MachineResult<string>> => {
        const rec = run.doc.state.machines[machine];
        try {
          if (!rec?.target)
            throw new ReconixError(Reason.ProvisioningFailed, `${machine}: no target is recorded`);
          const p = provider(deps, rec.targetEnv);
          const ctx = targetContext(run.ctx, run.doc, run.physical, machine);
          if (op === 'reboot' && p.reboot) {
            await p.reboot(machine, rec.target, ctx);
          } else {
            if (op !== 'start') await p.stop(machine, rec.target, ctx);
            if (op !== 'stop') rec.target = await p.start(machine, rec.target, ctx);
            await run.doc.checkpoint('machine-done');
          }
          deps.log.info(`machine ${op === 'stop' ? 'stopped' : op === 'start' ? 'started' : 'rebooted'}`, {
            deployment: req.name,
            machine,
          });
          return { machine, ok: true, value: rec.targetEnv };
        } catch (err) {
          return failedResult(machine, err, Reason.ProvisioningFailed);
        }
      }),
    );
  } finally {
    await run.doc.release();
  }
}
