// One `nix-store --serve --write` process on a host, spoken to with Nix's serve protocol, as nix-copy-closure does.
// It answers which paths are valid and adds paths to the host's store, with one process start and one open of the
// host's Nix database for all of a session's copies.
import type { Client, ClientChannel } from 'ssh2';
import type { NarSource, StorePathInfo } from '../core/ports.js';
import { sha256Base16 } from '../nixstore/nar.js';
import { shellJoin } from '../util/shell.js';
import { WireReader, wireNumber, wireString, wireStrings } from './serve-wire.js';

const SERVE_MAGIC_1 = 0x390c9deb;
const SERVE_MAGIC_2 = 0x5452eecb;
/** Protocol 2.6 (Nix 2.x). */
const SERVE_VERSION = 0x206;
const CMD_QUERY_VALID_PATHS = 1;
/** The export format of `nix-store --export`: the only way into hosts older than protocol 2.5. */
const CMD_IMPORT_PATHS = 4;
/** One path with its metadata and NAR (protocol 2.5 on): the host parses and hashes it once. */
const CMD_ADD_TO_STORE_NAR = 9;
const EXPORT_MAGIC = 0x4558494e;

/** The host side failed; `stderr` is what nix-store said. */
export class ServeError extends Error {
  readonly stderr: string;
  constructor(
    message: string,
    stderr: string,
    cause?: unknown,
    /** The exchange did not finish in its time (a host that stalls, not one that refuses). */
    readonly timedOut = false,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ServeError';
    this.stderr = stderr;
  }
}

/** The local side failed (reading a store path); the serve process is gone with it. */
export class ExportStreamError extends Error {
  readonly stderr: string;
  constructor(cause: unknown, stderr: string) {
    super(`reading the local store failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'ExportStreamError';
    this.stderr = stderr;
  }
}

export interface ServeOptions {
  /**
   * The serve protocol version to announce (default 2.6, 0x206): both sides speak the lower of theirs. Below 2.5,
   * copies go in the export format, as an older nix-copy-closure sends them.
   */
  protocolVersion?: number;
}

export class ServeConnection {
  private readonly channel: ClientChannel;
  private readonly reader: WireReader;
  private stderr = '';
  /** We gave up on it, or it is gone. */
  private closed = false;
  private exited = false;
  private queue: Promise<unknown> = Promise.resolve();
  /** Minor version of the serve protocol both sides speak. */
  private remoteMinor = 0;
  private readonly options: ServeOptions;

  private constructor(channel: ClientChannel, options: ServeOptions) {
    this.channel = channel;
    this.options = options;
    this.reader = new WireReader(channel, 'nix-store --serve exited');
    channel.stderr.on('data', (b: Buffer) => {
      this.stderr = (this.stderr + b.toString('utf8')).slice(-8000);
    });
    channel.once('close', () => {
      this.closed = true;
      this.exited = true;
    });
    channel.on('error', () => (this.closed = true));
  }

  /** Start the serve process and exchange greetings. */
  static async open(
    client: Client,
    timeoutMs: number | undefined,
    options: ServeOptions = {},
  ): Promise<ServeConnection> {
    const channel = await new Promise<ClientChannel>((resolve, reject) => {
      try {
        client.exec(shellJoin(['nix-store', '--serve', '--write']), (err, ch) =>
          err ? reject(err) : resolve(ch),
        );
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    const conn = new ServeConnection(channel, options);
    await conn.run(timeoutMs, async () => {
      const ours = options.protocolVersion ?? SERVE_VERSION;
      channel.write(Buffer.concat([wireNumber(SERVE_MAGIC_1), wireNumber(ours)]));
      const magic = await conn.reader.number();
      if (magic !== SERVE_MAGIC_2)
        throw new Error('nix-store --serve answered with something else than its greeting');
      const version = await conn.reader.number();
      if (version >> 8 !== SERVE_VERSION >> 8)
        throw new Error(`unsupported serve protocol ${version.toString(16)}`);
      conn.remoteMinor = Math.min(version & 0xff, ours & 0xff);
    });
    return conn;
  }

  /** Whether the process is gone (after a failure or close()); a new connection is needed then. */
  get dead(): boolean {
    return this.closed;
  }

  /** Which of `paths` the host's store holds. */
  queryValidPaths(paths: string[], timeoutMs: number | undefined): Promise<Set<string>> {
    return this.run(timeoutMs, async () => {
      this.channel.write(Buffer.concat([wireNumber(CMD_QUERY_VALID_PATHS), wireNumber(0), wireNumber(0)]));
      this.channel.write(wireStrings(paths));
      return new Set(await this.reader.strings());
    });
  }

  /**
   * Add `paths` (dependencies first) to the host's store, each path's NAR read from `source`; returns the bytes
   * of NAR sent. The requests are written back to back and the host's confirmations read as they come, so the
   * copy never waits a round trip per path.
   */
  addPaths(paths: readonly StorePathInfo[], source: NarSource, timeoutMs?: number): Promise<number> {
    return this.run(timeoutMs, async () => {
      if (paths.length === 0) return 0;
      const perPath = this.remoteMinor >= 5;
      const confirmations = perPath ? paths.length : 1;
      let stop: (err: unknown) => void = () => undefined;
      const stopped = new Promise<never>((_, reject) => (stop = reject));
      stopped.catch(() => undefined);
      let hostFailed = false;
      const replies = (async () => {
        for (let i = 0; i < confirmations; i++) {
          if ((await this.reader.number()) !== 1)
            throw new Error('nix-store --serve did not confirm the import');
        }
      })();
      replies.catch((err: unknown) => {
        hostFailed = true;
        stop(err);
      });
      let bytes = 0;
      try {
        if (!perPath) this.channel.write(wireNumber(CMD_IMPORT_PATHS));
        for (const info of paths) {
          if (perPath) this.channel.write(addToStoreNarHeader(info));
          else this.channel.write(wireNumber(1));
          bytes += await this.sendNar(info, source, stopped);
          if (!perPath) this.channel.write(exportTrailer(info));
        }
        if (!perPath) this.channel.write(wireNumber(0));
      } catch (err) {
        if (hostFailed) throw err; // the host's error, with its stderr added by run()
        // Our side failed (a read, or a path's metadata): the host waits for the rest, and only closing stops it.
        this.channel.close();
        await replies.catch(() => undefined);
        throw new ExportStreamError(err instanceof ExportStreamError ? err.cause : err, this.stderr);
      }
      await replies;
      return bytes;
    });
  }

  /**
   * Write one path's NAR: exactly `narSize` bytes. While one chunk is being written the next is read; a chunk is
   * written out (the SSH layer has copied it) before the one after it is read, since the source lends its
   * buffers. A failure to read is an ExportStreamError; a failure of the host (`stopped`) ends the wait with the
   * host's error.
   */
  private async sendNar(info: StorePathInfo, source: NarSource, stopped: Promise<never>): Promise<number> {
    const local = (err: unknown) =>
      new ExportStreamError(err instanceof Error ? err : new Error(`${info.path}: ${String(err)}`), '');
    let sent = 0;
    let writing: Promise<void> | undefined;
    let chunks: AsyncIterator<Buffer>;
    try {
      chunks = source.nar(info.path)[Symbol.asyncIterator]();
    } catch (err) {
      throw local(err);
    }
    try {
      for (;;) {
        const reading = chunks.next().catch((err: unknown) => Promise.reject(local(err)));
        reading.catch(() => undefined); // when the host failed first, nobody waits for it any more
        const next = await Promise.race([reading, stopped]);
        if (writing) await Promise.race([writing, stopped]);
        writing = undefined;
        if (next.done) break;
        sent += next.value.length;
        if (sent > info.narSize) throw local(`its NAR is longer than the ${info.narSize} bytes recorded`);
        writing = this.write(next.value);
      }
    } finally {
      await chunks.return?.().catch(() => undefined);
    }
    if (sent !== info.narSize) throw local(`its NAR has ${sent} bytes, not the ${info.narSize} recorded`);
    return sent;
  }

  /** Resolves once the channel has taken `chunk` (or has closed: the host's error then comes from its replies). */
  private write(chunk: Buffer): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.channel.off('close', done);
        resolve();
      };
      this.channel.once('close', done);
      this.channel.write(chunk, done);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.channel.end();
  }

  /** Run one exchange at a time; any failure ends the process, whose stderr then explains it. */
  private run<T>(timeoutMs: number | undefined, exchange: () => Promise<T>): Promise<T> {
    const result = this.queue.then(async () => {
      if (this.closed) throw new ServeError('nix-store --serve exited', this.stderr);
      let timer: NodeJS.Timeout | undefined;
      let timedOut = false;
      // A host that stops reading leaves a write waiting for room forever: the deadline does not wait for it.
      const deadline = new Promise<never>((_, reject) => {
        if (timeoutMs === undefined) return;
        timer = setTimeout(() => {
          timedOut = true;
          this.channel.close();
          reject(new Error(`no answer within ${timeoutMs} ms`));
        }, timeoutMs);
      });
      try {
        return await Promise.race([exchange(), deadline]);
      } catch (err) {
        this.close();
        if (err instanceof ExportStreamError && !timedOut) throw err;
        const why = timedOut
          ? `nix-store --serve did not finish within ${timeoutMs} ms`
          : err instanceof Error
            ? err.message
            : String(err);
        throw new ServeError(why, timedOut ? this.stderr : await this.settledStderr(), err, timedOut);
      } finally {
        if (timer) clearTimeout(timer);
      }
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** stderr once the channel has closed (the reason comes last), or what there is after a moment. */
  private async settledStderr(): Promise<string> {
    if (!this.exited) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.channel.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.stderr;
  }
}

/** cmdAddToStoreNar and the path's metadata, as nix-copy-closure sends them; the NAR follows. */
function addToStoreNarHeader(info: StorePathInfo): Buffer {
  return Buffer.concat([
    wireNumber(CMD_ADD_TO_STORE_NAR),
    wireString(info.path),
    wireString(info.deriver ?? ''),
    wireString(sha256Base16(info.narHash)),
    wireStrings(info.references),
    wireNumber(0), // registration time: the host's clock
    wireNumber(info.narSize),
    wireNumber(0), // not "ultimate": the host did not build it
    wireStrings(info.signatures ?? []),
    wireString(info.ca ?? ''),
  ]);
}

/** What follows a NAR in the export format: the path, its references and deriver, no signature. */
function exportTrailer(info: StorePathInfo): Buffer {
  return Buffer.concat([
    wireNumber(EXPORT_MAGIC),
    wireString(info.path),
    wireStrings(info.references),
    wireString(info.deriver ?? ''),
    wireNumber(0),
  ]);
}
