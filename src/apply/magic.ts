// The controller side of a detached activation (src/ssh/activation.ts): start it, follow its status, confirm it
// over a new connection, and say what the host did. The host decides by itself when the controller cannot: a
// controller that dies or loses the host leaves a host that reverts, never one half-switched.
import { Reason } from '../api/conditions.js';
import type { MachineStage } from '../core/progress.js';
import { ReconixError } from '../core/errors.js';
import type { HostObservation } from '../core/model.js';
import type { HostSession } from '../core/ports.js';
import {
  confirmCommand,
  isFinal,
  logCommand,
  parseStatus,
  startCommand,
  statusCommand,
  type ActivationArgs,
  type ActivationStatus,
} from '../ssh/activation.js';
import { generationOfLink } from '../ssh/observation.js';
import { outputTail } from '../ssh/session.js';
import { ACTIVATION_SCRIPT } from '../ssh/activation.js';
import { assertStorePath } from '../util/shell.js';

export interface DetachedOptions {
  id: string;
  /** Wait this long for a confirmation (switch and test), or not at all (0). */
  confirmTimeoutMs: number;
  activationTimeoutMs: number;
  /** A new connection to the same host, its key checked against the pin. */
  reconnect: () => Promise<HostSession>;
  progress: (stage: MachineStage, reason?: Reason) => void;
  /** How long to wait between two looks at the status. */
  pollMs?: number;
}

/** The host switched back to what it ran before: the machine is RolledBack, for `reason`. */
export class RolledBackError extends ReconixError {}

const GRACE_MS = 15_000;

/** Activate `system` on the host through the detached script; resolves once the host settled. */
export async function activateDetached(
  session: HostSession,
  system: string,
  mode: ActivationArgs['mode'],
  observed: HostObservation,
  o: DetachedOptions,
): Promise<{ generation?: number; output?: string[] }> {
  assertStorePath(system);
  const current = observed.generations.find((g) => g.current);
  const previous =
    mode === 'test'
      ? { ...(observed.currentSystem ? { system: observed.currentSystem } : {}) }
      : { ...(current ? { generation: current.number, system: current.path } : {}) };
  const args = {
    id: o.id,
    system,
    mode,
    previous,
    confirmMs: o.confirmTimeoutMs,
    activationTimeoutMs: o.activationTimeoutMs,
  };
  const started = await run(session, startCommand(args), Buffer.from(ACTIVATION_SCRIPT));
  if (started.trim() !== 'started') {
    throw new ReconixError(Reason.ActivationFailed, `starting the activation failed: ${outputTail(started)}`);
  }
  const follower = new Follower(session, o);
  try {
    const status = await follow(follower, o);
    if (status.state === 'confirmed' || status.state === 'done') {
      const output = await follower.log();
      return {
        ...(follower.generation === undefined ? {} : { generation: follower.generation }),
        ...(output.length > 0 ? { output } : {}),
      };
    }
    throw await follower.failure(status, system, mode, previous.generation);
  } finally {
    follower.close();
  }
}

/** Follow the host's status to its end, confirming when the host waits for it. */
async function follow(follower: Follower, o: DetachedOptions): Promise<ActivationStatus> {
  follower.say('activating');
  const status = await follower.until((s) => s.state !== 'activating', o.activationTimeoutMs + GRACE_MS);
  if (status.state === 'awaiting-confirmation') {
    follower.say('confirming');
    if (!(await follower.confirm())) follower.say('rolling-back', Reason.ConnectivityLost);
    const wait = o.confirmTimeoutMs + o.activationTimeoutMs + GRACE_MS;
    return follower.until((s) => isFinal(s.state), wait);
  }
  if (status.state === 'rolling-back') {
    follower.say('rolling-back', status.reason);
    return follower.until((s) => isFinal(s.state), o.activationTimeoutMs + GRACE_MS);
  }
  return status;
}

/** Reads an activation's status over the session it has, reconnecting when that one is lost. */
class Follower {
  generation: number | undefined;
  private session: HostSession | undefined;
  private readonly own: HostSession[] = [];
  private readonly said = new Set<MachineStage>();

  constructor(
    first: HostSession,
    private readonly o: DetachedOptions,
  ) {
    this.session = first;
  }

  /** Polls until `done` holds, within `ms`; when the host cannot be read that long, the outcome is unknown. */
  async until(done: (s: ActivationStatus) => boolean, ms: number): Promise<ActivationStatus> {
    const deadline = Date.now() + ms;
    let last: unknown;
    for (;;) {
      try {
        const s = await this.read();
        if (s && done(s)) return s;
      } catch (err) {
        last = err;
      }
      if (Date.now() > deadline) {
        const why = last instanceof Error ? `: ${last.message}` : '';
        throw new ReconixError(
          Reason.HostUnreachable,
          `lost the host during activation ${this.o.id}; it reverts unless confirmed, and the next reconcile reads what it did${why}`,
        );
      }
      await new Promise((r) => setTimeout(r, this.o.pollMs ?? 200));
    }
  }

  /** Confirm over a new connection; false when that connection fails or the host had already given up. */
  async confirm(): Promise<boolean> {
    try {
      const fresh = await this.o.reconnect();
      this.own.push(fresh);
      this.session = fresh;
      return (await run(fresh, confirmCommand(this.o.id))).trim() === 'confirmed';
    } catch {
      return false;
    }
  }

  /** The last lines the activation printed on the host (switch-to-configuration's output), for -v. */
  async log(): Promise<string[]> {
    const text = this.session ? await run(this.session, logCommand(this.o.id, 200)).catch(() => '') : '';
    return text.split('\n').filter((l) => l.trim() !== '');
  }

  async failure(
    status: ActivationStatus,
    system: string,
    mode: string,
    previous: number | undefined,
  ): Promise<ReconixError> {
    const log = this.session ? await run(this.session, logCommand(this.o.id)).catch(() => '') : '';
    const tail = log.trim() ? `:\n${outputTail(log)}` : '';
    const reason = (status.reason as Reason | undefined) ?? Reason.ActivationFailed;
    const what = `switch-to-configuration ${mode} of ${system}`;
    const cause = {
      ActivationFailed: `${what} failed`,
      ActivationTimeout: `${what} ran past the activation timeout (${this.o.activationTimeoutMs} ms) and was killed`,
      ConnectivityLost: `the host was not reachable over a new connection within the confirmation timeout (${this.o.confirmTimeoutMs} ms)`,
    }[status.reason ?? 'ActivationFailed'];
    const back = previous === undefined ? 'the system it ran before' : `generation ${previous}`;
    if (status.state === 'rollback-failed') {
      return new ReconixError(reason, `${cause}; rolling back to ${back} also failed${tail}`);
    }
    if (!this.said.has('rolling-back')) this.say('rolling-back', reason);
    this.say('rolled-back', reason);
    return new RolledBackError(reason, `${cause}; the host rolled back to ${back}${tail}`);
  }

  /** Report a stage of this machine's activation, once each. */
  say(stage: MachineStage, reason?: Reason): void {
    if (this.said.has(stage)) return;
    this.said.add(stage);
    this.o.progress(stage, reason);
  }

  close(): void {
    for (const s of this.own) s.close();
  }

  private async read(): Promise<ActivationStatus | undefined> {
    if (!this.session) {
      const fresh = await this.o.reconnect();
      this.own.push(fresh);
      this.session = fresh;
    }
    try {
      const [status = '', ...rest] = (await run(this.session, statusCommand(this.o.id))).split('\n');
      for (const line of rest) this.generation ??= generationOfLink(line.trim());
      return parseStatus(this.o.id, status);
    } catch (err) {
      if ((err as ReconixError).reason === Reason.HostUnreachable) this.session = undefined;
      throw err;
    }
  }
}

async function run(session: HostSession, command: string, input?: Buffer): Promise<string> {
  if (!session.runCommand) throw new Error('this host session cannot run commands');
  const r = await session.runCommand(command, input);
  if (r.exitCode !== 0)
    throw new ReconixError(
      Reason.ActivationFailed,
      `${command.split(' ')[0]} failed: ${outputTail(r.stderr)}`,
    );
  return r.stdout;
}
