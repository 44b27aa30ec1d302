// Nix's binary-cache format, as `nix copy --to file://...?compression=none` writes it: nix-cache-info, one
// <hashpart>.narinfo per store path and the NAR under nar/<filehash>.nar. A host's Nix reads it over HTTP.
import { basename } from 'node:path';
import type { StorePathInfo } from '../core/ports.js';
import { sha256Base16 } from '../nixstore/nar.js';

export const NIX_CACHE_INFO = 'StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n';

const BASE32 = '0123456789abcdfghijklmnpqrsvwxyz';

/** Bytes in Nix's base-32 notation (its own alphabet, the last character holding the lowest bits). */
export function toNixBase32(bytes: Uint8Array): string {
  const len = Math.ceil((bytes.length * 8) / 5);
  let out = '';
  for (let n = len - 1; n >= 0; n--) {
    const b = n * 5;
    const i = b >> 3;
    const j = b & 7;
    const c = ((bytes[i] ?? 0) >> j) | (i + 1 < bytes.length ? (bytes[i + 1] ?? 0) << (8 - j) : 0);
    out += BASE32[c & 0x1f];
  }
  return out;
}

/** "sha256:<nix base32>" of a SHA-256 hash given in any notation Nix prints. */
export function nixHash(hash: string): string {
  return `sha256:${toNixBase32(Buffer.from(sha256Base16(hash), 'hex'))}`;
}

/** The hash part of a store path: the name its narinfo is stored under. */
export function hashPart(storePath: string): string {
  return basename(storePath).slice(0, 32);
}

export const narinfoKey = (storePath: string): string => `${hashPart(storePath)}.narinfo`;

/** Where the NAR of an uncompressed path lives: named by its hash, as Nix names it. */
export const narKey = (info: Pick<StorePathInfo, 'narHash'>): string =>
  `nar/${nixHash(info.narHash).slice('sha256:'.length)}.nar`;

/**
 * What a signature covers, as Nix computes it: `1;<path>;<narHash in base 32>;<narSize>;<references, sorted,
 * comma-joined>`.
 */
export function fingerprint(
  info: Pick<StorePathInfo, 'path' | 'narHash' | 'narSize' | 'references'>,
): string {
  const refs = [...new Set(info.references)].sort();
  return `1;${info.path};${nixHash(info.narHash)};${info.narSize};${refs.join(',')}`;
}

/** The narinfo of an uncompressed NAR (so the file's hash and size are the NAR's), with the given signatures. */
export function narinfoText(info: StorePathInfo, sigs: readonly string[]): string {
  const hash = nixHash(info.narHash);
  const refs = [...new Set(info.references)].sort().map((r) => basename(r));
  const lines = [
    `StorePath: ${info.path}`,
    `URL: ${narKey(info)}`,
    'Compression: none',
    `FileHash: ${hash}`,
    `FileSize: ${info.narSize}`,
    `NarHash: ${hash}`,
    `NarSize: ${info.narSize}`,
    `References: ${refs.join(' ')}`,
    ...(info.deriver ? [`Deriver: ${basename(info.deriver)}`] : []),
    ...sigs.map((s) => `Sig: ${s}`),
    ...(info.ca ? [`CA: ${info.ca}`] : []),
  ];
  return `${lines.join('\n')}\n`;
}
