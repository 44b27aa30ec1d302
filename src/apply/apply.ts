// Phase B: build what changed (one Nix call), then copy and activate machine by machine, capped.
import pLimit from 'p-limit';
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import type { Action } from '../plan/actions.js';
import { assertNever } from '../plan/actions.js';
import { fail, type Run } from '../observe/run.js';
import type { HostView } from '../plan/plan.js';
import { activate, copyClosure } from './hosts.js';
import { type Sessions } from '../observe/hosts.js';
import type { HostSession, StorePathInfo } from '../core/ports.js';
import { applyKeyStep } from './keys.js';

export async function applySystemActions(
  run: Run,
  actions: readonly Action[],
  sessions: Sessions,
  hosts: Readonly<Record<string, HostView>> = {},
): Promise<void> {
  const byMachine = new Map<string, Action[]>();
  for (const a of actions) byMachine.set(a.machine, [...(byMachine.get(a.machine) ?? []), a]);

  // Build every changed machine in one call: Nix schedules the builds in parallel and shares what they share.
  const builds = actions.filter((a): a is Extract<Action, { kind: 'build' }> => a.kind === 'build');
  const buildFailed = new Set<string>();
  if (builds.length > 0) {
    try {
      await run.deps.store.realise(
        builds.map((b) => b.drvPath),
        // One root per machine system and deployment: a newer build replaces the older root.
        `${run.deps.gcRootDir}/${run.req.name}`,
      );
    } catch (err) {
      // Find out which machines' systems did not get built; the others go on.
      const built = await run.deps.store.validPaths(builds.map((b) => b.outPath));
      for (const b of builds) {
        if (!built.has(b.outPath)) {
          buildFailed.add(b.machine);
          fail(run, b.machine, err, Reason.BuildFailed);
        }
      }
    }
    for (const b of builds) {
      const r = run.reports[b.machine];
      if (r && !buildFailed.has(b.machine)) r.built = true;
    }
  }

  // Every closure in one query, rather than one process per machine.
  const copies = actions
    .filter((a) => a.kind === 'copy' && !buildFailed.has(a.machine))
    .map((a) => (a as { system: string }).system);
  const closures =
    copies.length > 0
      ? await run.deps.store.closures([...new Set(copies)])
      : new Map<string, StorePathInfo[]>();
  const ctx: StepContext = { closures, hosts };

  const limit = pLimit(Math.max(1, run.req.maxParallel));
  await Promise.all(
    [...byMachine].map(([name, steps]) =>
      limit(async () => {
        if (buildFailed.has(name)) return;
        const session = sessions.get(name);
        const report = run.reports[name];
        if (!session || !report) return;
        try {
          for (const step of steps) await applyStep(run, step, session, ctx);
        } catch (err) {
          fail(run, name, err, Reason.ActivationFailed);
          const rec = run.state.machines[name];
          if (rec)
            rec.lastDeploy = {
              at: run.deps.clock.now().toISOString(),
              ok: false,
              message: report.error?.message ?? '',
            };
          await run.save();
        }
      }),
    ),
  );
}

interface StepContext {
  closures: ReadonlyMap<string, StorePathInfo[]>;
  hosts: Readonly<Record<string, HostView>>;
}

async function applyStep(run: Run, step: Action, session: HostSession, ctx: StepContext): Promise<void> {
  const name = step.machine;
  const report = run.reports[name];
  if (!report) return;
  switch (step.kind) {
    case 'build':
      return; // done above, for all machines at once
    case 'copy': {
      try {
        report.copied = await copyClosure(
          session,
          run.deps.store,
          step.system,
          ctx.closures.get(step.system),
        );
      } catch (err) {
        // Say it was the copy that failed, keeping what the error knows about itself (its reaction).
        if (err instanceof ReconixError) throw err;
        throw new ReconixError(Reason.CopyFailed, err instanceof Error ? err.message : String(err), {
          cause: err,
        });
      }
      return;
    }
    case 'activate': {
      const view = ctx.hosts[name];
      const { generation } = await activate(
        session,
        step.system,
        step.mode,
        view?.ok ? view.observation : undefined,
      );
      if (step.mode === 'dry-activate') {
        report.outcome = 'planned';
        return;
      }
      const now = run.deps.clock.now().toISOString();
      const rec = (run.state.machines[name] ??= { targetEnv: report.env });
      rec.activated = {
        system: step.system,
        mode: step.mode,
        at: now,
        ...(generation ? { generation } : {}),
      };
      rec.lastDeploy = { at: now, ok: true };
      if (rec.hold && rec.hold.system !== step.system) delete rec.hold;
      await run.save();
      report.outcome = step.cause === 'drift' ? 'drift-corrected' : 'activated';
      report.current = step.system;
      if (generation) report.generation = generation;
      run.deps.log.info('machine activated', {
        deployment: run.req.name,
        machine: name,
        system: step.system,
        mode: step.mode,
        cause: step.cause,
        generation,
      });
      return;
    }
    case 'report-drift':
      report.outcome = 'drift-reported';
      run.deps.log.warn('drift detected', {
        deployment: run.req.name,
        machine: name,
        expected: step.expected,
        actual: step.actual,
      });
      return;
    case 'deliver-keys':
      return applyKeyStep(run, step, session);
    case 'create-target':
    case 'start-target':
    case 'destroy-target':
      throw new Error(`${step.kind} is not a system action`);
    default:
      assertNever(step);
  }
}
