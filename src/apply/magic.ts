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
  LOG_MARK,
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
  /** Sees each line the activation prints on the host while it runs, once each, in order (-v). */
  output?: (line: string) => void;
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
): Promise<{ generation?: number }> {
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
    // The host has settled; a log that cannot be read now changes nothing of that.
    await follower.drain().catch(() => undefined);
    if (status.state === 'confirmed' || status.state === 'done') {
      return follower.generation === undefined ? {} : { generation: follower.generation };
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
  /** The next line of the host's log to pass on (1-based): kept across reconnections, so none comes twice. */
  private logLine = 1;

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

  /** Pass on the log's lines not read yet, the last one even without its newline: the script has ended. */
  async drain(): Promise<void> {
    if (!this.o.output || !this.session) return;
    for (;;) {
      const text = await run(
        this.session,
        statusCommand(this.o.id, { from: this.logLine, max: DRAIN_LINES }),
      );
      const read = this.passOn(text, true);
      if (read === undefined || read < DRAIN_LINES) return;
    }
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
      const log = this.o.output ? { from: this.logLine, max: POLL_LINES } : undefined;
      const text = await run(this.session, statusCommand(this.o.id, log));
      this.passOn(text, false);
      const [status = '', ...rest] = text.split(`\n${LOG_MARK}\n`)[0]!.split('\n');
      for (const line of rest) this.generation ??= generationOfLink(line.trim());
      return parseStatus(this.o.id, status);
    } catch (err) {
      if ((err as ReconixError).reason === Reason.HostUnreachable) this.session = undefined;
      throw err;
    }
  }

  /**
   * Pass on the whole log lines after LOG_MARK in what statusCommand printed (and with `last`, a last line without
   * its newline); how many lines were read, undefined when there was no log in it.
   */
  private passOn(text: string, last: boolean): number | undefined {
    const at = text.indexOf(`\n${LOG_MARK}\n`);
    if (at < 0 || !this.o.output) return undefined;
    const lines = text.slice(at + LOG_MARK.length + 2).split('\n');
    // An unfinished line is read again whole at the next look.
    const rest = lines.pop() ?? '';
    if (last && rest !== '') lines.push(rest);
    for (const line of lines) {
      this.logLine++;
      this.o.output(line);
    }
    return lines.length;
  }
}

/** Log lines read at each look at the status, and at each read of what is left at the end. */
const POLL_LINES = 200;
const DRAIN_LINES = 1000;

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
