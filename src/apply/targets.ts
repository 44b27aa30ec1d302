// Phase A, applied: make every selected machine's target exist and run (create, start), or destroy it.
import { Reason } from '../api/conditions.js';
import type { TargetObservation, TargetRecord } from '../core/model.js';
import type { TargetContext } from '../core/ports.js';
import type { Action } from '../plan/actions.js';
import { assertNever } from '../plan/actions.js';
import { fail, machine, provider, type Run } from '../observe/run.js';

export function targetContext(run: Run, name: string): TargetContext {
  return {
    deployment: run.req.name,
    clientPublicKey: run.deps.clientKey.publicKey,
    facts: run.facts ?? {},
    save: async (record: TargetRecord) => {
      const env = run.physical.machines[name]?.targetEnv ?? run.state.machines[name]?.targetEnv ?? 'none';
      const rec = (run.state.machines[name] ??= { targetEnv: env });
      rec.targetEnv = env;
      rec.target = record;
      await run.save();
    },
  };
}

function remember(run: Run, name: string, record: TargetRecord, obs: TargetObservation): void {
  const rec = (run.state.machines[name] ??= { targetEnv: machine(run, name).targetEnv });
  rec.target = record;
  if (obs.endpoint) rec.endpoint = obs.endpoint;
  // A key Reconix learnt while creating the host is pinned at once: no trust on first use.
  if (obs.facts.hostPublicKey) rec.hostKey = obs.facts.hostPublicKey;
  run.targets[name] = obs;
}

/** Apply create/start/destroy actions; each machine fails alone. */
export async function applyTargetActions(run: Run, actions: readonly Action[]): Promise<void> {
  await Promise.all(
    actions.map(async (action) => {
      const name = action.machine;
      try {
        switch (action.kind) {
          case 'create-target': {
            const m = machine(run, name);
            const p = provider(run, action.env);
            const record = await p.create(m, targetContext(run, name), run.state.machines[name]?.target);
            remember(run, name, record, p.describe(m, record));
            await run.save();
            const report = run.reports[name];
            if (report) report.created = true;
            run.deps.log.info('target created', { deployment: run.req.name, machine: name, env: action.env });
            break;
          }
          case 'start-target': {
            const m = machine(run, name);
            const p = provider(run, action.env);
            const prev = run.state.machines[name]?.target ?? {};
            const record = await p.start(name, prev, targetContext(run, name));
            remember(run, name, record, p.describe(m, record));
            await run.save();
            run.deps.log.info('target started', { deployment: run.req.name, machine: name, why: action.why });
            break;
          }
          case 'destroy-target': {
            await destroyMachine(run, name, action.env);
            const report = run.reports[name];
            if (report) report.outcome = 'destroyed';
            break;
          }
          case 'build':
          case 'copy':
          case 'activate':
          case 'report-drift':
          case 'deliver-keys':
            throw new Error(`${action.kind} is not a target action`);
          default:
            assertNever(action);
        }
      } catch (err) {
        fail(run, name, err, Reason.ProvisioningFailed);
      }
    }),
  );
}

export async function destroyMachine(run: Run, name: string, env: string): Promise<void> {
  const rec = run.state.machines[name];
  if (rec?.target) await provider(run, env).destroy(name, rec.target, targetContext(run, name));
  delete run.state.machines[name];
  await run.save();
  run.deps.log.info('target destroyed', { deployment: run.req.name, machine: name, env });
}
