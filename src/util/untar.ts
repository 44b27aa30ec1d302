// Unpacks a gzipped tarball from somewhere we do not trust into a directory of our own: every entry must stay
// inside it (no absolute paths, no `..`, no symlink that points out or that later entries would be written
// through), and the unpacked size and number of entries are bounded, so that a crafted archive can neither
// write outside the directory nor fill the disk.
import { gunzipSync } from 'node:zlib';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';

export interface UntarLimits {
  /** Bytes of the unpacked tar stream. */
  maxBytes: number;
  maxEntries: number;
}

export const DEFAULT_UNTAR_LIMITS: UntarLimits = { maxBytes: 256 * 1024 * 1024, maxEntries: 100_000 };

export class UnsafeArchiveError extends Error {}

/** Gunzip at most `maxBytes`: a bomb stops with an error once the bound is passed, not when memory runs out. */
export function boundedGunzip(data: Buffer, maxBytes: number): Buffer {
  try {
    return gunzipSync(data, { maxOutputLength: maxBytes });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new UnsafeArchiveError(`the archive unpacks to more than ${maxBytes} bytes`);
    }
    throw new UnsafeArchiveError(`the archive is not valid gzip: ${(err as Error).message}`);
  }
}

/** A relative, normalised path that stays inside the root, or an error naming the entry. */
function safePath(name: string): string {
  const clean = name.replace(/^\.\/+/, '').replace(/\/+$/, '');
  if (clean.startsWith('/'))
    throw new UnsafeArchiveError(`entry ${JSON.stringify(name)} is an absolute path`);
  if (clean.split('/').includes('..')) {
    throw new UnsafeArchiveError(`entry ${JSON.stringify(name)} goes up with ..`);
  }
  return posix.normalize(clean === '' ? '.' : clean);
}

const text = (b: Buffer, start: number, len: number) => {
  const s = b.subarray(start, start + len);
  const end = s.indexOf(0);
  return (end === -1 ? s : s.subarray(0, end)).toString('utf8');
};

const octal = (b: Buffer, start: number, len: number, what: string): number => {
  const s = text(b, start, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new UnsafeArchiveError(`the archive has an unreadable ${what} field`);
  return parseInt(s, 8);
};

/** PAX extended header records: "LEN key=value\n". */
function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const len = space === -1 ? NaN : parseInt(data.subarray(at, space).toString('ascii'), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const record = data.subarray(space + 1, at + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    at += len;
  }
  return out;
}

/** Unpack a gzipped tar into `dest` (which should be new and empty). Returns the number of entries written. */
export function untarGz(data: Buffer, dest: string, limits: UntarLimits = DEFAULT_UNTAR_LIMITS): number {
  return untar(boundedGunzip(data, limits.maxBytes), dest, limits);
}

export function untar(tar: Buffer, dest: string, limits: UntarLimits = DEFAULT_UNTAR_LIMITS): number {
  mkdirSync(dest, { recursive: true, mode: 0o755 });
  const links = new Map<string, string>();
  const written = new Set<string>();
  let at = 0;
  let entries = 0;
  let pax = new Map<string, string>();
  let longName: string | undefined;
  let longLink: string | undefined;
  while (at + 512 <= tar.length) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const size = octal(header, 124, 12, 'size');
    const type = String.fromCharCode(header[156] ?? 0);
    const body = tar.subarray(at + 512, at + 512 + size);
    if (body.length < size) throw new UnsafeArchiveError('the archive ends in the middle of an entry');
    at += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      pax = paxRecords(body);
      continue;
    }
    if (type === 'g') continue;
    if (type === 'L' || type === 'K') {
      const value = text(body, 0, body.length);
      if (type === 'L') longName = value;
      else longLink = value;
      continue;
    }
    const prefix = text(header, 257, 6).startsWith('ustar') ? text(header, 345, 155) : '';
    const rawName = pax.get('path') ?? longName ?? (prefix ? `${prefix}/` : '') + text(header, 0, 100);
    const rawLink = pax.get('linkpath') ?? longLink ?? text(header, 157, 100);
    pax = new Map();
    longName = longLink = undefined;
    if (++entries > limits.maxEntries) {
      throw new UnsafeArchiveError(`the archive has more than ${limits.maxEntries} entries`);
    }
    const name = safePath(rawName);
    // Nothing may be written through a symlink of the archive: links are made last, and only where nothing is.
    for (let p = name; p !== '.'; p = posix.dirname(p)) {
      if (links.has(p)) {
        throw new UnsafeArchiveError(`entry ${JSON.stringify(rawName)} is written through a symlink`);
      }
    }
    const target = join(dest, name);
    switch (type) {
      case '0':
      case '\0':
      case '7': {
        mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
        const mode = octal(header, 100, 8, 'mode') & 0o100 ? 0o755 : 0o644;
        writeFileSync(target, body, { mode, flag: 'wx' });
        written.add(name);
        break;
      }
      case '5':
        if (name !== '.') mkdirSync(target, { recursive: true, mode: 0o755 });
        written.add(name);
        break;
      case '2': {
        if (rawLink.startsWith('/')) {
          throw new UnsafeArchiveError(`symlink ${JSON.stringify(rawName)} points to an absolute path`);
        }
        const resolved = posix.normalize(posix.join(posix.dirname(name), rawLink));
        if (resolved === '..' || resolved.startsWith('../')) {
          throw new UnsafeArchiveError(`symlink ${JSON.stringify(rawName)} points outside the archive`);
        }
        if (written.has(name) || links.has(name)) {
          throw new UnsafeArchiveError(`entry ${JSON.stringify(rawName)} appears twice`);
        }
        links.set(name, rawLink);
        break;
      }
      default:
        throw new UnsafeArchiveError(
          `entry ${JSON.stringify(rawName)} has type ${JSON.stringify(type)}; only files, directories and symlinks are unpacked`,
        );
    }
  }
  for (const [name, link] of links) {
    if (written.has(name)) throw new UnsafeArchiveError(`entry ${JSON.stringify(name)} appears twice`);
    const target = join(dest, name);
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    symlinkSync(link, target);
  }
  return entries;
}
