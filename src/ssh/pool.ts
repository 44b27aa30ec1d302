// SSH connections kept open between the reconciles of a long-running controller. A resync of a fleet that did not
// change is then one command per host over a connection it already has, not a handshake per host: on a host, the
// handshake (a new sshd process, key exchange, authentication) costs several times what the observation does, and
// as much again on the controller's side.
//
// A connection is reused only for the same endpoint, user, client key and pinned host key: another key, or another
// pin, is another connection. A connection kept idle longer than `idleMs` is closed; so is one the host closed.
// A read-only first command on a reused connection that finds it gone is retried once over a new connection, so a
// host restarted between two resyncs is observed as it is, not reported unreachable.
import { createHash } from 'node:crypto';
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import type { Generation, HostObservation, SshEndpoint } from '../core/model.js';
import type {
  ConnectOptions,
  CopyStats,
  HostConnector,
  HostKeyCheck,
  HostSession,
  NarSource,
  SshAuth,
  StorePathInfo,
} from '../core/ports.js';
import type { ActivationMode } from '../api/deployment.js';
import type { ExecResult } from '../util/exec.js';

/** A session that can be kept for later: SshHostSession is one. */
export interface ParkableSession extends HostSession {
  readonly alive: boolean;
  /** Let go of what the session started besides its connection (the host's `nix-store --serve`). */
  park(): void;
}

function parkable(s: HostSession): s is ParkableSession {
  const p = s as Partial<ParkableSession>;
  return typeof p.park === 'function' && typeof p.alive === 'boolean';
}

export interface ConnectionPoolOptions {
  /** How long a connection may stay unused before it is closed. */
  idleMs: number;
  /** At most this many idle connections are kept; the longest unused goes first. Default 10,000. */
  maxIdle?: number;
}

export interface ConnectionCounts {
  /** Connections this pool opened (handshakes). */
  opened: number;
  /** Sessions served by a connection kept from before. */
  reused: number;
  /** Connections held idle now. */
  idle: number;
}

interface Parked {
  session: ParkableSession;
  timer: NodeJS.Timeout;
}

export class ConnectionPool implements HostConnector {
  private readonly idle = new Map<string, Parked>();
  private readonly maxIdle: number;
  private closed = false;
  private opened = 0;
  private reused = 0;

  constructor(
    private readonly inner: HostConnector,
    private readonly options: ConnectionPoolOptions,
  ) {
    this.maxIdle = options.maxIdle ?? 10_000;
  }

  async connect(
    endpoint: SshEndpoint,
    auth: SshAuth,
    check: HostKeyCheck,
    options: ConnectOptions = {},
  ): Promise<HostSession> {
    // Kept under the key the host presented, so a connection made before its key was pinned serves the next
    // reconcile, which pins it. A connect without a pin accepts any key: it gets a connection of its own.
    const keyOf = (hostKey: string) => poolKey(endpoint, auth, hostKey);
    const reopen = () => this.open(endpoint, auth, check);
    const kept = options.fresh || !check.pinned ? undefined : this.take(keyOf(check.pinned));
    if (kept) {
      this.reused++;
      return new PooledSession(this, keyOf, kept, true, reopen);
    }
    return new PooledSession(this, keyOf, await reopen(), false, reopen);
  }

  counts(): ConnectionCounts {
    return { opened: this.opened, reused: this.reused, idle: this.idle.size };
  }

  /** Close every idle connection and keep none from now on (sessions in use close when they are done). */
  close(): void {
    this.closed = true;
    for (const key of [...this.idle.keys()]) this.drop(key);
  }

  private async open(endpoint: SshEndpoint, auth: SshAuth, check: HostKeyCheck): Promise<HostSession> {
    const s = await this.inner.connect(endpoint, auth, check, { fresh: true });
    this.opened++;
    return s;
  }

  private take(key: string): ParkableSession | undefined {
    const p = this.idle.get(key);
    if (!p) return undefined;
    this.idle.delete(key);
    clearTimeout(p.timer);
    if (p.session.alive) return p.session;
    closeQuietly(p.session);
    return undefined;
  }

  /** A session its user is done with: kept (one per key, the newest) while it is open, else closed. */
  release(key: string, session: HostSession): void {
    if (this.closed || !parkable(session) || !session.alive) {
      closeQuietly(session);
      return;
    }
    this.drop(key);
    session.park();
    const timer = setTimeout(() => {
      if (this.idle.get(key)?.session === session) this.drop(key);
    }, this.options.idleMs);
    timer.unref();
    this.idle.set(key, { session, timer });
    if (this.idle.size > this.maxIdle) {
      const oldest = this.idle.keys().next().value;
      if (oldest !== undefined) this.drop(oldest);
    }
  }

  private drop(key: string): void {
    const p = this.idle.get(key);
    if (!p) return;
    this.idle.delete(key);
    clearTimeout(p.timer);
    closeQuietly(p.session);
  }
}

/**
 * What a connection may be reused for: hashed, so that no private key is kept as a map key. The host key is taken
 * as "type base64", without a comment.
 */
function poolKey(endpoint: SshEndpoint, auth: SshAuth, hostKey: string): string {
  const key = createHash('sha256').update(auth.privateKey).digest('hex');
  const host = hostKey.trim().split(/\s+/).slice(0, 2).join(' ');
  const parts = [endpoint.host, String(endpoint.port), endpoint.user, key, host];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

function closeQuietly(s: HostSession): void {
  try {
    s.close();
  } catch {
    // a connection that is gone already
  }
}

/**
 * A session lent by the pool: close() gives the connection back. The first read of a reused connection that finds
 * it gone is retried over a new one (reads only: a command that changes the host is never sent twice).
 */
class PooledSession implements HostSession {
  readonly substitute?: (paths: readonly string[], from: { url: string; publicKey: string }) => Promise<void>;
  readonly runCommand?: (command: string, input?: Buffer) => Promise<ExecResult>;
  private done = false;

  constructor(
    private readonly pool: ConnectionPool,
    private readonly keyOf: (hostKey: string) => string,
    private current: HostSession,
    /** The connection came from the pool and nothing has gone over it yet in this session. */
    private untried: boolean,
    private readonly reopen: () => Promise<HostSession>,
  ) {
    if (current.substitute) this.substitute = async (paths, from) => this.use().substitute!(paths, from);
    if (current.runCommand)
      this.runCommand = async (command, input) => this.use().runCommand!(command, input);
  }

  get hostKey(): string {
    return this.current.hostKey;
  }

  observe(): Promise<HostObservation> {
    return this.read((s) => s.observe());
  }

  missingPaths(paths: string[]): Promise<string[]> {
    return this.read((s) => s.missingPaths(paths));
  }

  listGenerations(): Promise<Generation[]> {
    return this.read((s) => s.listGenerations());
  }

  async importPaths(paths: readonly StorePathInfo[], source: NarSource): Promise<CopyStats> {
    return this.use().importPaths(paths, source);
  }

  async setProfile(system: string): Promise<number> {
    return this.use().setProfile(system);
  }

  async switchTo(
    system: string,
    mode: ActivationMode,
    output?: (line: string) => void,
  ): Promise<string | void> {
    return this.use().switchTo(system, mode, output);
  }

  async switchGeneration(n: number): Promise<string> {
    return this.use().switchGeneration(n);
  }

  async deleteGenerations(numbers: number[]): Promise<void> {
    return this.use().deleteGenerations(numbers);
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    this.pool.release(this.keyOf(this.current.hostKey), this.current);
  }

  private use(): HostSession {
    if (this.done) throw new ReconixError(Reason.HostUnreachable, 'session closed');
    this.untried = false;
    return this.current;
  }

  private async read<T>(fn: (s: HostSession) => Promise<T>): Promise<T> {
    const retry = this.untried;
    try {
      return await fn(this.use());
    } catch (err) {
      if (!retry || (err as ReconixError).reason !== Reason.HostUnreachable) throw err;
      // The kept connection was gone (the host restarted, or dropped it): once more over a new one.
      const gone = this.current;
      const fresh = await this.reopen();
      closeQuietly(gone);
      this.current = fresh;
      if (this.done) closeQuietly(fresh);
      return fn(this.use());
    }
  }
}
