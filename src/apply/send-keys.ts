// `reconix send-keys`: write every declared key of the selected machines now, as NixOps' send-keys does, whatever
// the hosts have; keys no longer declared are removed. Nothing is built or activated.
import { eachMachine, openRun, type MachineResult } from './operations.js';
import type { ReconcileRequest } from '../core/request.js';
import type { ReconcileDeps } from '../observe/run.js';
import { applyKeyStep, declaredKeys, keysRun, resolveKeys, sendAllKeys } from './keys.js';
import { keyPath } from '../keys/spec.js';

/** Per machine: the names of the keys sent. Machines without keys (declared or delivered before) are skipped. */
export async function sendKeys(
  req: ReconcileRequest,
  deps: ReconcileDeps,
): Promise<MachineResult<string[]>[]> {
  const opened = await openRun(req, deps, true);
  const { physical, doc } = opened;
  try {
    const keys = keysRun(opened.ctx, physical, doc.state, () => doc.checkpoint('machine-done'));
    const withKeys = opened.selected.filter(
      (n) =>
        (physical.machines[n]?.keys.length ?? 0) > 0 ||
        Object.keys(doc.state.machines[n]?.keys ?? {}).length > 0 ||
        deps.keySource?.declared !== undefined,
    );
    const declared = await declaredKeys(keys, withKeys);
    const targets = withKeys.filter(
      (n) =>
        Object.keys(declared[n] ?? {}).length > 0 ||
        Object.keys(doc.state.machines[n]?.keys ?? {}).length > 0,
    );
    return await eachMachine(opened, targets, async (name, session) => {
      const resolved = await resolveKeys(keys, name, declared[name] ?? {});
      keys.keys.set(name, resolved);
      const wanted = new Set([...resolved].map(([n, r]) => keyPath(n, r.key.destDir)));
      const remove = Object.entries(doc.state.machines[name]?.keys ?? {})
        .map(([n, rec]) => keyPath(n, rec.destDir))
        .filter((p) => !wanted.has(p));
      await applyKeyStep(keys, sendAllKeys(name, resolved, remove), session);
      return [...resolved.keys()];
    });
  } finally {
    await doc.release();
  }
}
