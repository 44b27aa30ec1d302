// Changing the machines themselves: copy closures, activate systems.
import { Reason } from '../api/conditions.js';
import type { ActivationMode } from '../api/deployment.js';
import { ReconixError } from '../core/errors.js';
import type { HostObservation } from '../core/model.js';
import type { CopyStats, HostSession, LocalStore, NarSource, StorePathInfo } from '../core/ports.js';
import { activateDetached, type DetachedOptions } from './magic.js';

/** Copy the closure of `system` to a host: only the paths it lacks, dependencies first. */
export async function copyClosure(
  session: HostSession,
  store: LocalStore,
  system: string,
  known?: readonly StorePathInfo[],
  sent?: (bytes: number, total: number) => void,
): Promise<CopyStats> {
  const closure = known ?? (await store.closures([system])).get(system) ?? [];
  const missing = new Set(await session.missingPaths(closure.map((p) => p.path)));
  if (missing.size === 0) return { paths: 0, bytes: 0 };
  const paths = closure.filter((p) => missing.has(p.path));
  return session.importPaths(paths, sent ? counting(store, paths, sent) : store);
}

/** The store as a source of NARs that says how many bytes of the paths' total have been read from it so far. */
function counting(
  store: NarSource,
  paths: readonly StorePathInfo[],
  sent: (bytes: number, total: number) => void,
): NarSource {
  const total = paths.reduce((sum, p) => sum + p.narSize, 0);
  let bytes = 0;
  sent(0, total);
  return {
    async *nar(path) {
      for await (const chunk of store.nar(path)) {
        yield chunk;
        bytes += chunk.length;
        sent(bytes, total);
      }
    },
  };
}

export type DetachedSettings = DetachedOptions;

/**
 * Activate `system`: set the profile (for switch and boot), then switch-to-configuration, whose output `output`
 * sees line by line as it comes. When a switch fails, go back to the generation that ran before, as deploy-rs's
 * auto-rollback does. With `detached` settings (and a session that runs commands), switch, boot and test run
 * detached on the host, which confirms or reverts by itself (src/apply/magic.ts); dry activations change nothing,
 * so they run in the session.
 */
export async function activate(
  session: HostSession,
  system: string,
  mode: ActivationMode,
  observed?: HostObservation,
  detached?: DetachedSettings,
  output?: (line: string) => void,
): Promise<{ generation?: number }> {
  if (detached && session.runCommand && mode !== 'dry-activate') {
    const before = observed ?? (await session.observe());
    const confirm = mode === 'boot' ? 0 : detached.confirmTimeoutMs;
    return activateDetached(session, system, mode, before, {
      ...detached,
      confirmTimeoutMs: confirm,
      ...(output ? { output } : {}),
    });
  }
  if (mode === 'test' || mode === 'dry-activate') {
    await session.switchTo(system, mode, output);
    return {};
  }
  const before = observed ?? (await session.observe());
  const previous = before.generations.find((g) => g.current);
  const generation = await session.setProfile(system);
  try {
    await session.switchTo(system, mode, output);
  } catch (err) {
    if (!previous) throw err;
    try {
      await session.switchGeneration(previous.number);
      if (mode === 'switch') await session.switchTo(previous.path, 'switch', output);
    } catch (rollbackErr) {
      throw new ReconixError(
        Reason.ActivationFailed,
        `${(err as Error).message}; rolling back to generation ${previous.number} also failed: ${(rollbackErr as Error).message}`,
        { cause: err },
      );
    }
    throw new ReconixError(
      Reason.ActivationFailed,
      `${(err as Error).message}; rolled back to generation ${previous.number}`,
      { cause: err },
    );
  }
  return { generation };
}
