// Talking to the machines themselves: connect with pinned keys, observe; meanwhile, evaluate their systems.
import pLimit from 'p-limit';
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import type { PhysicalView, SshEndpoint } from '../core/model.js';
import type { ConnectOptions, HostSession } from '../core/ports.js';
import { evaluateSystems, type DesiredSystems } from '../evaluate/systems.js';
import type {
  Configured,
  Connected,
  HostObservations,
  HostViews,
  MachineFailure,
  Sessions,
} from '../report/outcomes.js';
import { machine, machineFailure, type RunContext, type StateDoc } from './run.js';

export type { Configured, Connected, HostObservations, HostViews, Sessions };
import { collectFacts, type Targets } from './targets.js';

/**
 * How many hosts are being connected to and observed at once. Looking changes nothing, so `maxParallel` (which
 * bounds changes) does not bound it: a rollout one machine at a time still observes its fleet in one go.
 */
export const OBSERVE_POOL = 64;

/**
 * Open one SSH session per machine, pinning keys, and ask each host what it runs as soon as its session is open
 * (at most OBSERVE_POOL hosts at a time); failures are per machine. A key learnt here is recorded in the state
 * and saved at the next checkpoint.
 */
export async function connectAndObserve(
  ctx: RunContext,
  doc: StateDoc,
  physical: PhysicalView,
  targets: Targets,
  names: readonly string[],
): Promise<{ connected: Connected; hosts: HostObservations }> {
  const sessions: Sessions = new Map();
  const failures: MachineFailure[] = [];
  const views: HostViews = {};
  const observeFailures: MachineFailure[] = [];
  const limit = pLimit(OBSERVE_POOL);
  await Promise.all(
    names.map((name) =>
      limit(async () => {
        let session: HostSession;
        try {
          session = await connectHost(ctx, doc, physical, name, targets[name]?.endpoint);
          sessions.set(name, session);
        } catch (err) {
          const failure = machineFailure(ctx, name, err, Reason.HostUnreachable);
          const unreachable = (err as ReconixError).reason === Reason.HostUnreachable;
          failures.push({ machine: name, failure, ...(unreachable ? { unreachable } : {}) });
          return;
        }
        try {
          views[name] = { ok: true, observation: await session.observe() };
        } catch (err) {
          views[name] = { ok: false, error: (err as Error).message };
          observeFailures.push({
            machine: name,
            failure: machineFailure(ctx, name, err, Reason.HostUnreachable),
          });
        }
      }),
    ),
  );
  return { connected: { sessions, failures }, hosts: { views, failures: observeFailures } };
}

export async function connectHost(
  ctx: RunContext,
  doc: StateDoc,
  physical: PhysicalView,
  name: string,
  observed?: SshEndpoint,
  options: ConnectOptions = {},
): Promise<HostSession> {
  const { deps } = ctx;
  const m = machine(physical, name);
  const endpoint = observed ?? doc.state.machines[name]?.endpoint;
  if (!endpoint) throw new ReconixError(Reason.HostUnreachable, `${name}: no address known for this machine`);
  const privateKey = m.sshKeyFile ? await deps.readKeyFile(m.sshKeyFile) : deps.clientKey.privateKey;
  const rec = (doc.state.machines[name] ??= { targetEnv: m.targetEnv });
  const pinned = m.hostPublicKey ?? rec.hostKey;
  const session = await deps.connector.connect(endpoint, { privateKey }, pinned ? { pinned } : {}, options);
  if (!pinned) {
    // An existing host seen for the first time: pin what it presented from now on.
    rec.hostKey = session.hostKey;
    rec.endpoint = endpoint;
  }
  return session;
}

/**
 * Evaluate the systems of `evaluate`, with every machine's address and key injected, and meanwhile connect to
 * `connect` and ask each host what it runs. When every key is pinned already, connecting cannot change them, so
 * it runs at the same time as the evaluation; otherwise the keys it learns go into the evaluation, which waits.
 * Connecting and observing never reject (failures are per machine); whatever happens, the sessions opened are
 * returned or closed.
 */
export async function evaluateWhileObserving(
  ctx: RunContext,
  doc: StateDoc,
  physical: PhysicalView,
  targets: Targets,
  names: { connect: readonly string[]; evaluate: readonly string[] },
): Promise<Configured> {
  const { req, deps } = ctx;
  const pinned = names.connect.every(
    (n) => physical.machines[n]?.hostPublicKey ?? doc.state.machines[n]?.hostKey,
  );
  const observing = connectAndObserve(ctx, doc, physical, targets, names.connect);
  if (!pinned) await observing;
  let desired: DesiredSystems;
  try {
    desired = await evaluateSystems(
      deps.evaluator,
      req.source,
      collectFacts(ctx, doc, physical, targets),
      names.evaluate,
      { signal: ctx.signal },
    );
  } catch (err) {
    closeAll((await observing).connected.sessions);
    throw err;
  }
  const { connected, hosts } = await observing;
  // A host that refused the connection (or its key) was not observed: the plan says so, with why.
  for (const f of connected.failures) hosts.views[f.machine] = { ok: false, error: f.failure.message };
  return { desired, connected, hosts };
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
