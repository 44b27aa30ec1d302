// Talking to the machines themselves: connect with pinned keys, observe, copy, activate.
import pLimit from 'p-limit';
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import type { ActivationMode } from '../api/deployment.js';
import type { HostObservation, SshEndpoint } from '../core/model.js';
import type { HostView } from '../plan/plan.js';
import { fail, machine, type Run } from './context.js';
import type { CopyStats, HostSession, LocalStore, StorePathInfo } from '../core/ports.js';

export type Sessions = Map<string, HostSession>;

function endpointOf(run: Run, name: string): SshEndpoint | undefined {
  return run.targets[name]?.endpoint ?? run.state.machines[name]?.endpoint;
}

/** Open one SSH session per machine (capped), pinning keys; failures are per machine. */
export async function connectHosts(run: Run, names: readonly string[]): Promise<Sessions> {
  const sessions: Sessions = new Map();
  const limit = pLimit(Math.max(run.req.maxParallel, 1) * 2);
  await Promise.all(
    names.map((name) =>
      limit(async () => {
        try {
          sessions.set(name, await connectHost(run, name));
        } catch (err) {
          fail(run, name, err, Reason.HostUnreachable);
          const report = run.reports[name];
          if (report && (err as ReconixError).reason === Reason.HostUnreachable)
            report.outcome = 'unreachable';
        }
      }),
    ),
  );
  return sessions;
}

export async function connectHost(run: Run, name: string): Promise<HostSession> {
  const m = machine(run, name);
  const endpoint = endpointOf(run, name);
  if (!endpoint) throw new ReconixError(Reason.HostUnreachable, `${name}: no address known for this machine`);
  const privateKey = m.sshKeyFile ? await run.deps.readKeyFile(m.sshKeyFile) : run.deps.clientKey.privateKey;
  const rec = (run.state.machines[name] ??= { targetEnv: m.targetEnv });
  const pinned = m.hostPublicKey ?? rec.hostKey;
  const session = await run.deps.connector.connect(endpoint, { privateKey }, pinned ? { pinned } : {});
  if (!pinned) {
    // An existing host seen for the first time: pin what it presented from now on.
    rec.hostKey = session.hostKey;
    rec.endpoint = endpoint;
    await run.save();
  }
  return session;
}

export async function observeHosts(run: Run, sessions: Sessions): Promise<Record<string, HostView>> {
  const views: Record<string, HostView> = {};
  await Promise.all(
    [...sessions].map(async ([name, s]) => {
      try {
        views[name] = { ok: true, observation: await s.observe() };
      } catch (err) {
        views[name] = { ok: false, error: (err as Error).message };
        fail(run, name, err, Reason.HostUnreachable);
      }
    }),
  );
  return views;
}

/** Copy the closure of `system` to a host: only the paths it lacks, dependencies first. */
export async function copyClosure(
  session: HostSession,
  store: LocalStore,
  system: string,
  known?: readonly StorePathInfo[],
): Promise<CopyStats> {
  const closure = known ?? (await store.closures([system])).get(system) ?? [];
  const missing = new Set(await session.missingPaths(closure.map((p) => p.path)));
  if (missing.size === 0) return { paths: 0, bytes: 0 };
  return session.importPaths(
    closure.filter((p) => missing.has(p.path)),
    store,
  );
}

/**
 * Activate `system`: set the profile (for switch and boot), then switch-to-configuration. When a switch fails,
 * go back to the generation that ran before, as deploy-rs's auto-rollback does.
 */
export async function activate(
  session: HostSession,
  system: string,
  mode: ActivationMode,
  observed?: HostObservation,
): Promise<{ generation?: number }> {
  if (mode === 'test' || mode === 'dry-activate') {
    await session.switchTo(system, mode);
    return {};
  }
  const before = observed ?? (await session.observe());
  const previous = before.generations.find((g) => g.current);
  const generation = await session.setProfile(system);
  try {
    await session.switchTo(system, mode);
  } catch (err) {
    if (!previous) throw err;
    try {
      await session.switchGeneration(previous.number);
      if (mode === 'switch') await session.switchTo(previous.path, 'switch');
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

export function closeAll(sessions: Sessions): void {
  for (const s of sessions.values()) {
    try {
      s.close();
    } catch {
      // closing a dead connection is not an error worth reporting
    }
  }
}
