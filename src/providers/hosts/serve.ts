// One `nix-store --serve --write` process on a host, spoken to with Nix's serve protocol, as nix-copy-closure does.
// It answers which paths are valid and imports `nix-store --export` streams, with one process start and one open
// of the host's Nix database for all of a session's copies.
import type { Readable } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { shellJoin } from '../../util/shell.js';
import { WireReader, wireNumber, wireStrings } from './serve-wire.js';

const SERVE_MAGIC_1 = 0x390c9deb;
const SERVE_MAGIC_2 = 0x5452eecb;
/** Protocol 2.6 (Nix 2.x); both commands used here exist in every 2.x version. */
const SERVE_VERSION = 0x206;
const CMD_QUERY_VALID_PATHS = 1;
const CMD_IMPORT_PATHS = 4;

/** The host side failed; `stderr` is what nix-store said. */
export class ServeError extends Error {
  readonly stderr: string;
  constructor(message: string, stderr: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ServeError';
    this.stderr = stderr;
  }
}

/** The local side failed (the export stream); the serve process is gone with it. */
export class ExportStreamError extends Error {
  readonly stderr: string;
  constructor(cause: unknown, stderr: string) {
    super(`the export failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'ExportStreamError';
    this.stderr = stderr;
  }
}

export class ServeConnection {
  private readonly channel: ClientChannel;
  private readonly reader: WireReader;
  private stderr = '';
  /** We gave up on it, or it is gone. */
  private closed = false;
  private exited = false;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(channel: ClientChannel) {
    this.channel = channel;
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
  static async open(client: Client, timeoutMs: number | undefined): Promise<ServeConnection> {
    const channel = await new Promise<ClientChannel>((resolve, reject) => {
      try {
        client.exec(shellJoin(['nix-store', '--serve', '--write']), (err, ch) =>
          err ? reject(err) : resolve(ch),
        );
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    const conn = new ServeConnection(channel);
    await conn.run(timeoutMs, async () => {
      channel.write(Buffer.concat([wireNumber(SERVE_MAGIC_1), wireNumber(SERVE_VERSION)]));
      const magic = await conn.reader.number();
      if (magic !== SERVE_MAGIC_2)
        throw new Error('nix-store --serve answered with something else than its greeting');
      const version = await conn.reader.number();
      if (version >> 8 !== SERVE_VERSION >> 8)
        throw new Error(`unsupported serve protocol ${version.toString(16)}`);
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

  /** Feed a `nix-store --export` stream to the host's importer and wait until it has added every path. */
  importPaths(exported: Readable): Promise<void> {
    return this.run(undefined, async () => {
      let exportError: unknown;
      exported.once('error', (err) => {
        exportError ??= err;
        exported.unpipe(this.channel);
        this.channel.close(); // the importer waits for more: only closing stops it
      });
      this.channel.write(wireNumber(CMD_IMPORT_PATHS));
      exported.pipe(this.channel, { end: false });
      try {
        if ((await this.reader.number()) !== 1)
          throw new Error('nix-store --serve did not confirm the import');
      } catch (err) {
        if (exportError !== undefined) throw new ExportStreamError(exportError, this.stderr);
        throw err;
      } finally {
        exported.unpipe(this.channel);
      }
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
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          timedOut = true;
          this.channel.close();
        }, timeoutMs);
      }
      try {
        return await exchange();
      } catch (err) {
        this.close();
        if (err instanceof ExportStreamError) throw err;
        const why = timedOut
          ? 'nix-store --serve timed out'
          : err instanceof Error
            ? err.message
            : String(err);
        throw new ServeError(why, await this.settledStderr(), err);
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
