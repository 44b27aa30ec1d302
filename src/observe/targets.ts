// Provisioning, observed: where each selected machine's target is and whether it runs, and the facts every
// configuration gets.
import { Reason } from '../api/conditions.js';
import type { InfraFacts, MachineRecord, PhysicalView, TargetObservation } from '../core/model.js';
import type { ResourceFacts } from '../core/ports.js';
import type { MachineFailure, TargetObservations, Targets } from '../report/outcomes.js';
import { machine, machineFailure, provider, type RunContext, type StateDoc } from './run.js';

export type { TargetObservations, Targets };

/** Observe the targets of the selected machines, one batched call per target kind. */
export async function observeTargets(
  ctx: RunContext,
  doc: StateDoc,
  physical: PhysicalView,
  selected: readonly string[],
  facts: ResourceFacts,
): Promise<TargetObservations> {
  const byEnv = new Map<string, string[]>();
  for (const name of selected) {
    const env = machine(physical, name).targetEnv;
    byEnv.set(env, [...(byEnv.get(env) ?? []), name]);
  }
  const seen: Record<string, TargetObservation | undefined> = {};
  const failures: MachineFailure[] = [];
  await Promise.all(
    [...byEnv].map(async ([env, names]) => {
      try {
        const p = provider(ctx.deps, env);
        const records: Record<string, MachineRecord | undefined> = {};
        for (const n of names) records[n] = doc.state.machines[n];
        const found = await p.observe(
          ctx.req.name,
          names.map((n) => machine(physical, n)),
          records,
          facts,
        );
        for (const n of names) seen[n] = found[n];
      } catch (err) {
        for (const n of names)
          failures.push({ machine: n, failure: machineFailure(ctx, n, err, Reason.ProvisioningFailed) });
      }
    }),
  );
  return { seen, failures };
}

/** The targets as observed, with what provisioning made of them since. */
export function targetsAfter(
  seen: Targets,
  provisioned: readonly { machine: string; observation?: TargetObservation }[],
): Targets {
  const out = { ...seen };
  for (const t of provisioned) if (t.observation) out[t.machine] = t.observation;
  return out;
}

/** Addresses and keys of every machine (selected or not), for injection into each configuration. */
export function collectFacts(
  ctx: RunContext,
  doc: StateDoc,
  physical: PhysicalView,
  targets: Targets,
): InfraFacts {
  const { state } = doc;
  const facts: InfraFacts = { machines: {}, resources: {} };
  for (const [name, m] of Object.entries(physical.machines)) {
    const obs = targets[name] ?? ctx.deps.providers[m.targetEnv]?.describe(m, state.machines[name]?.target);
    if (!obs) continue;
    const f = { ...obs.facts };
    const pinned = m.hostPublicKey ?? state.machines[name]?.hostKey;
    if (pinned && !f.hostPublicKey) f.hostPublicKey = pinned;
    facts.machines[name] = f;
  }
  for (const r of Object.values(state.resources)) {
    (facts.resources[r.type] ??= {})[r.name] = { ...r.facts, ...(r.id ? { id: r.id } : {}) };
  }
  return facts;
}
