// Rolling back machines of a failed rollout wave to the generation they ran before the rollout.
import type { ActivationMode } from '../api/deployment.js';
import type { HostObservation } from '../core/model.js';
import type { HostSession } from '../core/ports.js';
import type { StateDoc } from '../observe/run.js';

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
