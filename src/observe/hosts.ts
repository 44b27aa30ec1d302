// Talking to the machines themselves: connect with pinned keys, observe.
import pLimit from 'p-limit';
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import type { SshEndpoint } from '../core/model.js';
import type { HostView } from '../plan/plan.js';
import { fail, machine, type Run } from './run.js';
import type { HostSession } from '../core/ports.js';

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

export function closeAll(sessions: Sessions): void {
  for (const s of sessions.values()) {
    try {
      s.close();
    } catch {
      // closing a dead connection is not an error worth reporting
    }
  }
}
