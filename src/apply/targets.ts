// Provisioning, applied: make every selected machine's target exist and run (create, start), or destroy it.
import { Reason } from '../api/conditions.js';
import type { PhysicalView, TargetObservation, TargetRecord } from '../core/model.js';
import type { ResourceFacts, TargetContext } from '../core/ports.js';
import type { Action } from '../plan/actions.js';
import { assertNever } from '../plan/actions.js';
import { machine, machineFailure, provider, type RunContext, type StateDoc } from '../observe/run.js';
import type { TargetOutcome } from '../report/outcomes.js';

export type { TargetOutcome };

export function targetContext(
  ctx: RunContext,
  doc: StateDoc,
  physical: PhysicalView,
  name: string,
  facts: ResourceFacts = {},
): TargetContext {
  return {
    deployment: ctx.req.name,
    clientPublicKey: ctx.deps.clientKey.publicKey,
    facts,
    save: async (record: TargetRecord) => {
      const env = physical.machines[name]?.targetEnv ?? doc.state.machines[name]?.targetEnv ?? 'none';
      const rec = (doc.state.machines[name] ??= { targetEnv: env });
      rec.targetEnv = env;
      rec.target = record;
      await doc.persist();
    },
  };
}

function remember(
  doc: StateDoc,
  physical: PhysicalView,
  name: string,
  record: TargetRecord,
  obs: TargetObservation,
) {
  const rec = (doc.state.machines[name] ??= { targetEnv: machine(physical, name).targetEnv });
  rec.target = record;
  if (obs.endpoint) rec.endpoint = obs.endpoint;
  // A key Reconix learnt while creating the host is pinned at once: no trust on first use.
  if (obs.facts.hostPublicKey) rec.hostKey = obs.facts.hostPublicKey;
}

/**
 * Apply create/start/destroy actions; each machine fails alone. The records are saved by the caller once
 * provisioning is over. A cancelled run starts no further create or start.
 */
export async function applyTargets(
  ctx: RunContext,
  doc: StateDoc,
  physical: PhysicalView,
  actions: readonly Action[],
  facts: ResourceFacts = {},
): Promise<TargetOutcome[]> {
  const { req, deps } = ctx;
  const outcomes = await Promise.all(
    actions.map(async (action): Promise<TargetOutcome | undefined> => {
      const name = action.machine;
      if (ctx.signal.aborted) return undefined;
      try {
        switch (action.kind) {
          case 'create-target': {
            const m = machine(physical, name);
            const p = provider(deps, action.env);
            const prev = doc.state.machines[name]?.target;
            const record = await p.create(m, targetContext(ctx, doc, physical, name, facts), prev);
            const observation = p.describe(m, record);
            remember(doc, physical, name, record, observation);
            deps.log.info('target created', { deployment: req.name, machine: name, env: action.env });
            return { machine: name, created: true, observation };
          }
          case 'start-target': {
            const m = machine(physical, name);
            const p = provider(deps, action.env);
            const prev = doc.state.machines[name]?.target ?? {};
            const record = await p.start(name, prev, targetContext(ctx, doc, physical, name, facts));
            const observation = p.describe(m, record);
            remember(doc, physical, name, record, observation);
            deps.log.info('target started', { deployment: req.name, machine: name, why: action.why });
            return { machine: name, observation };
          }
          case 'destroy-target':
            await destroyMachine(ctx, doc, physical, name, action.env);
            return { machine: name, destroyed: true };
          case 'build':
          case 'copy':
          case 'activate':
          case 'report-drift':
          case 'deliver-keys':
            throw new Error(`${action.kind} is not a target action`);
          default:
            return assertNever(action);
        }
      } catch (err) {
        return { machine: name, failure: machineFailure(ctx, name, err, Reason.ProvisioningFailed) };
      }
    }),
  );
  return outcomes.filter((o): o is TargetOutcome => o !== undefined);
}

/** Destroy a machine's target and forget the machine; the caller saves. */
export async function destroyMachine(
  ctx: RunContext,
  doc: StateDoc,
  physical: PhysicalView,
  name: string,
  env: string,
): Promise<void> {
  const rec = doc.state.machines[name];
  if (rec?.target)
    await provider(ctx.deps, env).destroy(name, rec.target, targetContext(ctx, doc, physical, name));
  delete doc.state.machines[name];
  ctx.deps.log.info('target destroyed', { deployment: ctx.req.name, machine: name, env });
}
