// Phase A, observed: where each selected machine's target is and whether it runs, and the facts every
// configuration gets.
import { Reason } from '../api/conditions.js';
import type { InfraFacts, MachineRecord } from '../core/model.js';
import { fail, machine, provider, type Run } from './run.js';

/** Observe the targets of the selected machines, one batched call per target kind. */
export async function observeTargets(run: Run, selected: readonly string[]): Promise<void> {
  const byEnv = new Map<string, string[]>();
  for (const name of selected) {
    const env = machine(run, name).targetEnv;
    byEnv.set(env, [...(byEnv.get(env) ?? []), name]);
  }
  await Promise.all(
    [...byEnv].map(async ([env, names]) => {
      try {
        const p = provider(run, env);
        const records: Record<string, MachineRecord | undefined> = {};
        for (const n of names) records[n] = run.state.machines[n];
        const seen = await p.observe(
          run.req.name,
          names.map((n) => machine(run, n)),
          records,
          run.facts ?? {},
        );
        for (const n of names) run.targets[n] = seen[n];
      } catch (err) {
        for (const n of names) fail(run, n, err, Reason.ProvisioningFailed);
      }
    }),
  );
}

/** Addresses and keys of every machine (selected or not), for injection into each configuration. */
export function collectFacts(run: Run): InfraFacts {
  const facts: InfraFacts = { machines: {}, resources: {} };
  for (const [name, m] of Object.entries(run.physical.machines)) {
    const obs =
      run.targets[name] ?? run.deps.providers[m.targetEnv]?.describe(m, run.state.machines[name]?.target);
    if (!obs) continue;
    const f = { ...obs.facts };
    const pinned = m.hostPublicKey ?? run.state.machines[name]?.hostKey;
    if (pinned && !f.hostPublicKey) f.hostPublicKey = pinned;
    facts.machines[name] = f;
  }
  for (const r of Object.values(run.state.resources)) {
    (facts.resources[r.type] ??= {})[r.name] = { ...r.facts, ...(r.id ? { id: r.id } : {}) };
  }
  return facts;
}
