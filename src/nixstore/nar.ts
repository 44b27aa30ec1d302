// Nix archives (NAR) of store paths, read straight from the file system, and Nix's hash notations.
//
// A copy to a host sends each path's NAR; the host hashes what it receives and refuses a path whose hash differs
// from the one in the local store's database, so a path damaged on disk never spreads. Reading the files here,
// rather than through a `nix-store --export` process per host, spares a process, a pipe and a hash per copy.
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  read,
  readdirSync,
  readlinkSync,
  readSync,
  type Dirent,
} from 'node:fs';
import { promisify } from 'node:util';

/** File contents larger than this are read in chunks of this size; smaller ones in one read. */
const CHUNK = 256 * 1024;
/** The NAR is written into buffers of this size (or larger, for one file that needs it) and handed on full. */
const SEGMENT = 256 * 1024;

export interface NarOptions {
  /**
   * Lend the chunks of large files: their bytes may be overwritten once the chunk after the next one is asked
   * for. A consumer that is done with each chunk by then (a copy that waits for each write) saves the garbage of
   * one buffer per chunk; others must leave this off.
   */
  lend?: boolean;
}

/** The NAR serialisation of `path` (a file, directory or symlink), as `nix-store --dump` writes it. */
export async function* narOf(path: string, options: NarOptions = {}): AsyncGenerator<Buffer> {
  const w = new NarWriter(options.lend ?? false);
  w.out.string('nix-archive-1');
  yield* w.dump(Buffer.from(path), undefined);
  yield* w.out.take();
}

const SLASH = Buffer.from('/');
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;
const readAt = promisify(read);

type Kind = 'file' | 'directory' | 'symlink';

/** The kind a directory listing gives, or undefined when it does not say (the file system is asked then). */
function kindOf(e: Pick<Dirent, 'isFile' | 'isDirectory' | 'isSymbolicLink'>): Kind | undefined {
  if (e.isFile()) return 'file';
  if (e.isDirectory()) return 'directory';
  if (e.isSymbolicLink()) return 'symlink';
  return undefined;
}

function kindAt(path: Buffer): Kind {
  const st = lstatSync(path);
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  throw unsupported(path);
}

class NarWriter {
  readonly out = new Segments();
  /** Two buffers taken in turn for the chunks of large files, when lending. */
  private readonly lent: Buffer[] | undefined;
  private turn = 0;

  constructor(lend: boolean) {
    this.lent = lend ? [] : undefined;
  }

  /** `kind` comes from the parent directory's listing; undefined means ask the file system. */
  async *dump(path: Buffer, kind: Kind | undefined): AsyncGenerator<Buffer> {
    const out = this.out;
    out.string('(');
    switch (kind ?? kindAt(path)) {
      case 'symlink':
        out
          .string('type')
          .string('symlink')
          .string('target')
          .bytes(readlinkSync(path, { encoding: 'buffer' }));
        break;
      case 'file':
        yield* this.file(path);
        break;
      case 'directory': {
        out.string('type').string('directory');
        // Nix orders entries by their bytes.
        const entries = readdirSync(path, { withFileTypes: true, encoding: 'buffer' }).sort((a, b) =>
          Buffer.compare(a.name, b.name),
        );
        for (const e of entries) {
          out.string('entry').string('(').string('name').bytes(e.name).string('node');
          yield* this.dump(Buffer.concat([path, SLASH, e.name]), kindOf(e));
          out.string(')');
          if (out.full) yield* out.take();
        }
        break;
      }
    }
    out.string(')');
    if (out.full) yield* out.take();
  }

  /** A regular file: small ones read in place, large ones in chunks off the main thread. */
  private async *file(path: Buffer): AsyncGenerator<Buffer> {
    const out = this.out;
    const fd = openSync(path, OPEN_FLAGS); // not following a link that replaced the file
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw changed(path);
      out.string('type').string('regular');
      if (st.mode & 0o100) out.string('executable').string('');
      out.string('contents').number(st.size);
      if (st.size <= CHUNK) {
        out.fill(st.size, (buf, at) => readExactly(fd, buf, at, st.size, path));
      } else {
        yield* out.take();
        let done = 0;
        while (done < st.size) {
          const want = Math.min(CHUNK, st.size - done);
          const buf = this.buffer(want);
          const { bytesRead } = await readAt(fd, buf, 0, want, done);
          if (bytesRead !== want) throw changed(path);
          done += want;
          yield buf;
        }
      }
      out.pad(st.size);
    } finally {
      closeSync(fd);
    }
  }

  private buffer(size: number): Buffer {
    if (!this.lent) return Buffer.allocUnsafe(size);
    this.turn ^= 1;
    const b = (this.lent[this.turn] ??= Buffer.allocUnsafe(CHUNK));
    return b.subarray(0, size);
  }
}

/**
 * Read exactly `size` bytes of `fd` into `buf` at `at`; a file that got shorter changed meanwhile. (One that
 * changed otherwise gives a NAR whose hash the receiving store refuses.)
 */
function readExactly(fd: number, buf: Buffer, at: number, size: number, path: Buffer): void {
  let done = 0;
  while (done < size) {
    const n = readSync(fd, buf, at + done, size - done, done);
    if (n === 0) throw changed(path);
    done += n;
  }
}

function unsupported(path: Buffer): Error {
  return new Error(`${path.toString()} has a file type a Nix archive cannot hold`);
}

function changed(path: Buffer): Error {
  return new Error(`${path.toString()} changed while it was being read`);
}

/** Writes the NAR's tokens and small files into segments and hands them on once full. */
class Segments {
  private done: Buffer[] = [];
  private buf = EMPTY;
  private pos = 0;
  /** Size of the next buffer: small for small NARs, doubling up to SEGMENT for large ones. */
  private next = FIRST_SEGMENT;

  /** Whether a segment is ready to go. */
  get full(): boolean {
    return this.done.length > 0 || this.pos >= SEGMENT;
  }

  number(n: number): this {
    this.room(8);
    this.buf.writeUInt32LE(n % 0x100000000, this.pos);
    this.buf.writeUInt32LE(Math.floor(n / 0x100000000), this.pos + 4);
    this.pos += 8;
    return this;
  }

  /** One of the format's own words (ASCII). */
  string(s: string): this {
    this.number(s.length);
    this.room(s.length);
    this.pos += this.buf.write(s, this.pos, 'latin1');
    return this.pad(s.length);
  }

  /** A length-prefixed, padded string. */
  bytes(b: Buffer): this {
    this.number(b.length);
    this.room(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
    return this.pad(b.length);
  }

  /** `size` bytes written in place by `write(buffer, offset)`. */
  fill(size: number, write: (buf: Buffer, at: number) => void): this {
    this.room(size);
    write(this.buf, this.pos);
    this.pos += size;
    return this;
  }

  pad(length: number): this {
    const n = (8 - (length % 8)) % 8;
    if (n > 0) {
      this.room(n);
      this.buf.fill(0, this.pos, this.pos + n);
      this.pos += n;
    }
    return this;
  }

  /**
   * Everything written so far, in order; the buffers are the caller's from now on. A buffer mostly empty is kept
   * for what comes next and a copy of its bytes handed on instead.
   */
  take(): Buffer[] {
    const out = this.done;
    this.done = [];
    if (this.pos > 0) {
      if (this.pos < this.buf.length / 4) {
        out.push(Buffer.from(this.buf.subarray(0, this.pos)));
      } else {
        out.push(this.buf.subarray(0, this.pos));
        this.buf = EMPTY;
      }
      this.pos = 0;
    }
    return out;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.pos > 0) this.done.push(this.buf.subarray(0, this.pos));
    this.buf = Buffer.allocUnsafe(Math.max(this.next, n));
    this.next = Math.min(SEGMENT, this.next * 2);
    this.pos = 0;
  }
}

const EMPTY = Buffer.alloc(0);
const FIRST_SEGMENT = 16 * 1024;

const BASE32 = '0123456789abcdfghijklmnpqrsvwxyz';

/**
 * A SHA-256 hash as Nix prints it ("sha256-<base64>", "sha256:<base32>", "sha256:<base16>", or without the
 * prefix) in base 16, the form every Nix version reads.
 */
export function sha256Base16(hash: string): string {
  let body = hash;
  let sri = false;
  if (hash.startsWith('sha256-')) {
    body = hash.slice(7);
    sri = true;
  } else if (hash.startsWith('sha256:')) {
    body = hash.slice(7);
  } else if (/^[a-z0-9]+[-:]/.test(hash)) {
    throw new Error(`not a SHA-256 hash: ${JSON.stringify(hash)}`);
  }
  let bytes: Buffer;
  if (sri || (body.length === 44 && body.endsWith('='))) {
    bytes = Buffer.from(body, 'base64');
    if (bytes.toString('base64') !== body) bytes = Buffer.alloc(0);
  } else if (body.length === 64 && /^[0-9a-f]+$/.test(body)) {
    bytes = Buffer.from(body, 'hex');
  } else if (body.length === 52) {
    bytes = fromNixBase32(body);
  } else {
    bytes = Buffer.alloc(0);
  }
  if (bytes.length !== 32) throw new Error(`not a SHA-256 hash: ${JSON.stringify(hash)}`);
  return bytes.toString('hex');
}

/** Nix's base-32 notation (its own alphabet; the last character holds the lowest bits). */
function fromNixBase32(s: string): Buffer {
  const out = Buffer.alloc(32);
  for (let n = 0; n < s.length; n++) {
    const digit = BASE32.indexOf(s[s.length - n - 1]!);
    if (digit < 0) return Buffer.alloc(0);
    const b = n * 5;
    const i = b >> 3;
    const j = b & 7;
    out[i] = (out[i] ?? 0) | ((digit << j) & 0xff);
    const carry = digit >> (8 - j);
    if (i < 31) out[i + 1] = (out[i + 1] ?? 0) | carry;
    else if (carry !== 0) return Buffer.alloc(0);
  }
  return out;
}
