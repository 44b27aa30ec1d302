// A host over one SSH connection: observe it, copy store paths into it, switch its system profile.
import type { Client } from 'ssh2';
import type { ActivationMode } from '../api/deployment.js';
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import type { Generation, HostObservation, SshEndpoint } from '../core/model.js';
import type { CopyStats, HostSession, NarSource, StorePathInfo } from '../core/ports.js';
import { ExecError, type ExecResult } from '../util/exec.js';
import { assertStorePath, shellJoin } from '../util/shell.js';
import { lineSplitter } from '../util/text.js';
import { generationOfLink, OBSERVE_SCRIPT, parseObservation, SYSTEM_PROFILE } from './observation.js';
import { ExportStreamError, ServeConnection, ServeError } from './serve.js';
import { sshExec, type SshExecOptions } from './ssh-exec.js';
import { CACHE_KEY_PIN, PIN_MISMATCH, substituteScript, type CacheSource } from './substitute.js';

const MODES: readonly ActivationMode[] = ['switch', 'boot', 'test', 'dry-activate'];

export function endpointName(e: SshEndpoint): string {
  return `${e.user}@${e.host}:${e.port}`;
}

/** The last lines of a command's output, for error messages. */
export function outputTail(text: string, lines = 20): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

export interface SshHostSessionOptions {
  /** Limit for the short commands (observe, path checks, profile changes); copies and activations have none. */
  commandTimeoutMs?: number;
  /** The serve protocol version announced to the host (see ServeOptions). */
  serveProtocolVersion?: number;
  /** Limit for one copy of a closure (all its missing paths); default 30 min. */
  copyTimeoutMs?: number;
}

export class SshHostSession implements HostSession {
  readonly hostKey: string;
  private readonly client: Client;
  private readonly endpoint: SshEndpoint;
  private readonly commandTimeoutMs: number;
  private readonly serveProtocolVersion: number | undefined;
  private readonly copyTimeoutMs: number;
  private lost: Error | undefined;
  /** The host's `nix-store --serve`, started by the first copy and kept for the session. */
  private serve: Promise<ServeConnection> | undefined;

  constructor(client: Client, endpoint: SshEndpoint, hostKey: string, options: SshHostSessionOptions = {}) {
    this.client = client;
    this.endpoint = endpoint;
    this.hostKey = hostKey;
    this.commandTimeoutMs = options.commandTimeoutMs ?? 120_000;
    this.serveProtocolVersion = options.serveProtocolVersion;
    this.copyTimeoutMs = options.copyTimeoutMs ?? 30 * 60_000;
    client.on('error', (err) => (this.lost ??= err));
    client.on('close', () => (this.lost ??= new Error('connection closed')));
  }

  async observe(): Promise<HostObservation> {
    const r = await this.check(OBSERVE_SCRIPT, 'observing the host', Reason.HostUnreachable);
    return parseObservation(r.stdout);
  }

  async listGenerations(): Promise<Generation[]> {
    return (await this.observe()).generations;
  }

  async missingPaths(paths: string[]): Promise<string[]> {
    if (paths.length === 0) return [];
    paths.forEach(assertStorePath);
    const serve = await this.serveConnection();
    let valid: Set<string>;
    try {
      valid = await serve.queryValidPaths(paths, this.commandTimeoutMs);
    } catch (err) {
      throw this.serveFailure('checking store paths', err);
    }
    return paths.filter((p) => !valid.has(p));
  }

  async importPaths(paths: readonly StorePathInfo[], source: NarSource): Promise<CopyStats> {
    if (paths.length === 0) return { paths: 0, bytes: 0 };
    for (const p of paths) {
      assertStorePath(p.path);
      p.references.forEach(assertStorePath);
    }
    const serve = await this.serveConnection();
    try {
      const bytes = await serve.addPaths(paths, source, this.copyTimeoutMs);
      return { paths: paths.length, bytes };
    } catch (err) {
      const what = paths.length === 1 ? '1 store path' : `${paths.length} store paths`;
      if (err instanceof ServeError && err.timedOut) {
        // A host that stalls mid-copy holds the connection too: nothing more goes over it.
        this.lost ??= err;
        this.client.destroy();
        throw this.fail(
          Reason.CopyTimeout,
          `importing ${what} did not finish within ${Math.round(this.copyTimeoutMs / 1000)} s (--copy-timeout)`,
          err,
        );
      }
      throw this.serveFailure(`importing ${what}`, err);
    }
  }

  async substitute(paths: readonly string[], from: CacheSource): Promise<void> {
    if (paths.length === 0) return;
    paths.forEach(assertStorePath);
    const r = await this.exec(substituteScript(paths, from), {}, this.copyTimeoutMs);
    if (r.exitCode === 0) return;
    if (r.exitCode === PIN_MISMATCH) {
      throw new ReconixError(
        Reason.CopyFailed,
        `${endpointName(this.endpoint)}: the host trusts binary-cache key ${JSON.stringify(r.stdout.trim())} (pinned in ${CACHE_KEY_PIN}), not the cache's key ${JSON.stringify(from.publicKey)}; nothing was fetched. If the key changed on purpose, remove that file on the host`,
        { reaction: 'stall' },
      );
    }
    const what = `substituting ${paths.length === 1 ? paths[0] : `${paths.length} paths`} from ${from.url}`;
    if (r.timedOut) {
      throw this.fail(
        Reason.CopyTimeout,
        `${what} did not finish within ${Math.round(this.copyTimeoutMs / 1000)} s (--copy-timeout)`,
      );
    }
    throw this.fail(Reason.CopyFailed, `${what} ${this.why(r)}`, new ExecError(r), r.stderr);
  }

  async setProfile(system: string): Promise<number> {
    assertStorePath(system);
    const cmd = `${shellJoin(['nix-env', '-p', SYSTEM_PROFILE, '--set', system])} && ${shellJoin(['readlink', SYSTEM_PROFILE])}`;
    const r = await this.exec(cmd);
    if (r.exitCode !== 0) {
      throw this.fail(
        Reason.ActivationFailed,
        `setting the system profile ${this.why(r)}`,
        new ExecError(r),
        r.stderr,
      );
    }
    const n = generationOfLink(r.stdout.trim());
    if (n === undefined) {
      throw this.fail(
        Reason.ActivationFailed,
        `the system profile points to ${JSON.stringify(r.stdout.trim())}`,
      );
    }
    return n;
  }

  async switchTo(system: string, mode: ActivationMode, output?: (line: string) => void): Promise<string> {
    assertStorePath(system);
    if (!MODES.includes(mode)) throw new Error(`unknown activation mode ${JSON.stringify(mode)}`);
    const lines = output && lineSplitter(output);
    const command = `${shellJoin([`${system}/bin/switch-to-configuration`, mode])} 2>&1`;
    const r = await this.exec(command, lines ? { onStdout: (b) => lines.push(b) } : {}, null);
    lines?.end();
    if (r.exitCode !== 0) {
      const msg = `switch-to-configuration ${mode} of ${system} ${this.why(r)}`;
      throw this.fail(Reason.ActivationFailed, msg, new ExecError(r), r.stdout);
    }
    return r.stdout;
  }

  async switchGeneration(n: number): Promise<string> {
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`not a generation number: ${n}`);
    const switchCmd = shellJoin(['nix-env', '-p', SYSTEM_PROFILE, '--switch-generation', String(n)]);
    const r = await this.exec(`${switchCmd} && ${shellJoin(['readlink', '-e', SYSTEM_PROFILE])}`);
    if (r.exitCode !== 0) {
      const msg = `switching to generation ${n} ${this.why(r)}`;
      throw this.fail(Reason.ActivationFailed, msg, new ExecError(r), r.stderr);
    }
    return r.stdout.trim();
  }

  async deleteGenerations(numbers: number[]): Promise<void> {
    if (numbers.length === 0) return;
    for (const n of numbers) {
      if (!Number.isSafeInteger(n) || n < 1) throw new Error(`not a generation number: ${n}`);
    }
    const args = ['nix-env', '-p', SYSTEM_PROFILE, '--delete-generations', ...numbers.map(String)];
    const r = await this.exec(shellJoin(args));
    if (r.exitCode !== 0) {
      const msg = `deleting generations ${numbers.join(' ')} ${this.why(r)}`;
      throw this.fail(Reason.ActivationFailed, msg, new ExecError(r), r.stderr);
    }
  }

  async runCommand(command: string, input?: Buffer): Promise<ExecResult> {
    return this.exec(command, input === undefined ? {} : { input });
  }

  /** Whether the connection is still open (nothing has closed it, on either side). */
  get alive(): boolean {
    return this.lost === undefined;
  }

  /** Kept open for a later reconcile: the host's `nix-store --serve` ends, the connection stays. */
  park(): void {
    const serve = this.serve;
    this.serve = undefined;
    serve?.then(
      (s) => s.close(),
      () => undefined,
    );
  }

  close(): void {
    this.lost ??= new Error('session closed');
    this.serve?.then(
      (s) => s.close(),
      () => undefined,
    );
    this.client.end();
  }

  private async serveConnection(): Promise<ServeConnection> {
    if (this.lost) throw this.unreachable(this.lost);
    const current = this.serve && (await this.serve.catch(() => undefined));
    if (current && !current.dead) return current;
    const opening = ServeConnection.open(this.client, this.commandTimeoutMs, {
      ...(this.serveProtocolVersion === undefined ? {} : { protocolVersion: this.serveProtocolVersion }),
    });
    this.serve = opening;
    try {
      return await opening;
    } catch (err) {
      this.serve = undefined;
      throw this.serveFailure('starting nix-store --serve', err);
    }
  }

  /** A failed copy: the export's fault, the host's (with what nix-store said), or a lost connection. */
  private serveFailure(what: string, err: unknown): ReconixError {
    if (this.lost) return this.unreachable(this.lost);
    if (err instanceof ExportStreamError || err instanceof ServeError) {
      return this.fail(Reason.CopyFailed, `${what} failed: ${err.message}`, err, err.stderr);
    }
    const why = err instanceof Error ? err.message : String(err);
    return this.fail(Reason.CopyFailed, `${what} failed: ${why}`, err);
  }

  /**
   * Run a command, within `timeoutMs` unless that is null; a connection that is gone (or goes while the command
   * runs) is HostUnreachable.
   */
  private async exec(
    command: string,
    options: SshExecOptions = {},
    timeoutMs: number | null = this.commandTimeoutMs,
  ): Promise<ExecResult> {
    if (this.lost) throw this.unreachable(this.lost);
    let r: ExecResult;
    try {
      r = await sshExec(this.client, command, timeoutMs === null ? options : { ...options, timeoutMs });
    } catch (err) {
      if (err instanceof ExecError) throw err;
      throw this.unreachable(err);
    }
    if (r.exitCode === null && r.signal === null && !r.timedOut) {
      throw this.unreachable(
        this.lost ?? new Error(`connection lost while running ${command.split(' ')[0]}`),
      );
    }
    return r;
  }

  /** Run a command that is expected to succeed, failing with `reason` otherwise. */
  private async check(
    command: string,
    what: string,
    reason: Reason,
    options: SshExecOptions = {},
  ): Promise<ExecResult> {
    const r = await this.exec(command, options);
    if (r.exitCode !== 0) {
      throw this.fail(reason, `${what} ${this.why(r)}`, new ExecError(r), r.stderr);
    }
    return r;
  }

  private why(r: ExecResult): string {
    if (r.timedOut) return 'timed out';
    return r.signal ? `was killed by ${r.signal}` : `exited with code ${r.exitCode}`;
  }

  private fail(reason: Reason, msg: string, cause?: unknown, output?: string): ReconixError {
    const tail = output ? outputTail(output) : '';
    const text = `${endpointName(this.endpoint)}: ${msg}${tail ? `:\n${tail}` : ''}`;
    return new ReconixError(reason, text, cause === undefined ? {} : { cause });
  }

  private unreachable(cause: unknown): ReconixError {
    const why = cause instanceof Error ? cause.message : String(cause);
    return this.fail(Reason.HostUnreachable, `connection lost (${why})`, cause);
  }
}
