// The opening every run of a deployment shares: its lock and state, then its physical view.
import { emptyState, type PhysicalView } from '../core/model.js';
import type { ReconcileRequest } from '../core/request.js';
import type { ReconcileDeps, StateDoc } from './run.js';

export interface OpenedState extends StateDoc {
  release(): Promise<void>;
}

/** Take the deployment's lock and state when the run writes; otherwise read the state as it is. */
export async function openState(
  req: ReconcileRequest,
  deps: ReconcileDeps,
  write: boolean,
): Promise<OpenedState> {
  if (write) {
    const handle = await deps.state.acquire(req.name, `reconix ${req.op}`);
    const save = () => handle.save();
    return { state: handle.state, checkpoint: save, persist: save, release: () => handle.release() };
  }
  const state = await deps.state.read(req.name).catch(() => emptyState(req.name));
  const none = async () => undefined;
  return { state, checkpoint: none, persist: none, release: none };
}

/** Which machines, where, which resources (nothing is built yet); then load what the deployment needs. */
export async function evaluatePhysical(
  req: ReconcileRequest,
  deps: ReconcileDeps,
  doc: StateDoc,
): Promise<PhysicalView> {
  const physical = await deps.evaluator.physical(req.source);
  await deps.prepare?.(physical, doc.state);
  return physical;
}
