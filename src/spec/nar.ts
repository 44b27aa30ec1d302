// Nix archives (NAR) of store paths, read straight from the file system, and Nix's hash notations.
//
// A copy to a host sends each path's NAR; the host hashes what it receives and refuses a path whose hash differs
// from the one in the local store's database, so a path damaged on disk never spreads. Reading the files here,
// rather than through a `nix-store --export` process per host, spares a process, a pipe and a hash per copy.
import { promises as fsp, lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';

/** File contents larger than this are read in chunks of this size; smaller ones in one read. */
const CHUNK = 256 * 1024;
/** Small tokens are gathered into buffers of about this size before they are handed on. */
const GATHER = 256 * 1024;

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
  yield* w.dump(Buffer.from(path));
  const rest = w.out.take();
  if (rest) yield rest;
}

const SLASH = Buffer.from('/');

class NarWriter {
  readonly out = new Gather();
  /** Two buffers taken in turn for the chunks of large files, when lending. */
  private readonly lent: Buffer[] | undefined;
  private turn = 0;

  constructor(lend: boolean) {
    this.lent = lend ? [] : undefined;
  }

  async *dump(path: Buffer): AsyncGenerator<Buffer> {
    const out = this.out;
    const st = lstatSync(path);
    out.string('(');
    if (st.isSymbolicLink()) {
      out
        .string('type')
        .string('symlink')
        .string('target')
        .bytes(readlinkSync(path, { encoding: 'buffer' }));
    } else if (st.isFile()) {
      out.string('type').string('regular');
      if (st.mode & 0o100) out.string('executable').string('');
      out.string('contents').number(st.size);
      yield* this.contents(path, st);
      out.pad(st.size);
    } else if (st.isDirectory()) {
      out.string('type').string('directory');
      // Nix orders entries by their bytes.
      const names = readdirSync(path, { encoding: 'buffer' }).sort(Buffer.compare);
      for (const name of names) {
        out.string('entry').string('(').string('name').bytes(name).string('node');
        yield* this.dump(Buffer.concat([path, SLASH, name]));
        out.string(')');
        if (out.size >= GATHER) yield out.take()!;
      }
    } else {
      throw new Error(`${path.toString()} has a file type a Nix archive cannot hold`);
    }
    out.string(')');
  }

  /** A regular file's bytes: exactly `st.size` of them, or an error if the file changed meanwhile. */
  private async *contents(path: Buffer, st: Stats): AsyncGenerator<Buffer> {
    const out = this.out;
    if (st.size <= CHUNK) {
      const data = readFileSync(path);
      if (data.length !== st.size) throw changed(path);
      out.bytes(data, false);
      if (out.size >= GATHER) yield out.take()!;
      return;
    }
    const pending = out.take();
    if (pending) yield pending;
    const file = await fsp.open(path, 'r');
    try {
      let done = 0;
      while (done < st.size) {
        const want = Math.min(CHUNK, st.size - done);
        const buf = this.buffer(want);
        const { bytesRead } = await file.read(buf, 0, want, done);
        if (bytesRead !== want) throw changed(path);
        done += want;
        yield buf;
      }
    } finally {
      await file.close();
    }
  }

  private buffer(size: number): Buffer {
    if (!this.lent) return Buffer.allocUnsafe(size);
    this.turn ^= 1;
    const b = (this.lent[this.turn] ??= Buffer.allocUnsafe(CHUNK));
    return b.subarray(0, size);
  }
}

function changed(path: Buffer): Error {
  return new Error(`${path.toString()} changed while it was being read`);
}

/** Collects the small tokens of a NAR (lengths, words, padding) into few buffers. */
class Gather {
  private parts: Buffer[] = [];
  size = 0;

  number(n: number): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    return this.push(b);
  }

  string(s: string): this {
    return this.bytes(Buffer.from(s, 'utf8'));
  }

  /** A length-prefixed, padded string; `framed` false adds the bytes alone (file contents). */
  bytes(b: Buffer, framed = true): this {
    if (!framed) return this.push(b);
    this.number(b.length).push(b);
    return this.pad(b.length);
  }

  pad(length: number): this {
    const n = (8 - (length % 8)) % 8;
    return n === 0 ? this : this.push(ZEROS.subarray(0, n));
  }

  /** What was gathered, as one buffer, or undefined if nothing. */
  take(): Buffer | undefined {
    if (this.size === 0) return undefined;
    const b = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    return b;
  }

  private push(b: Buffer): this {
    if (b.length > 0) {
      this.parts.push(b);
      this.size += b.length;
    }
    return this;
  }
}

const ZEROS = Buffer.alloc(8);

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
