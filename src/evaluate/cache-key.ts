// What an evaluation reads, reduced to one digest: the source's file tree, the arguments and facts, the builder,
// the machines asked for, Reconix's Nix library, the Nix version and what `<...>` lookups resolve to.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '../util/json.js';

/** A tree larger than this is not digested: its evaluations are not cached. */
export const TREE_LIMITS = { files: 5_000, bytes: 64 * 1024 * 1024 };

/** The inputs of one evaluation, as the key sees them. */
export interface KeyParts {
  kind: 'physical' | 'systems';
  /** Digest of every file under the source's root (`treeDigest`). */
  tree: string;
  files: readonly string[];
  args: Readonly<Record<string, string>>;
  builder: string;
  /** Injected addresses and host keys (systems only). */
  facts?: unknown;
  machines?: readonly string[];
  /** Digest of Reconix's nix/ directory. */
  nixLib: string;
  nixVersion: string;
  /** What each NIX_PATH entry resolves to (`resolveNixPath`). */
  nixPath: readonly string[];
  restricted: boolean;
}

export function evalCacheKey(parts: KeyParts): string {
  const machines = parts.machines ? [...new Set(parts.machines)].sort() : undefined;
  return createHash('sha256')
    .update(canonicalJson({ v: 1, ...parts, machines }))
    .digest('hex');
}

/** Why a digest could not be made (the evaluation then runs uncached). */
export class Uncacheable extends Error {}

/**
 * SHA-256 over the names, kinds and contents of every file under `roots`, in path order; symlinks are followed
 * for files, and for directories only their target is digested (so that a loop cannot hold the walk). `.git` and
 * the `skip` directories (the state directory) are left out. Files git ignores are digested too: a network may
 * import a local, unversioned file. With `entries`, also what each path under the roots holds, by its absolute path
 * (see `readsDigest`).
 */
export async function treeDigest(
  roots: readonly string[],
  skip: readonly string[] = [],
  entries?: Map<string, string>,
): Promise<string> {
  const hash = createHash('sha256');
  const skipped = new Set(skip.map((s) => path.resolve(s)));
  let files = 0;
  let bytes = 0;
  const walk = async (dir: string, rel: string): Promise<void> => {
    const children = await fs.readdir(dir, { withFileTypes: true });
    for (const e of children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const full = path.join(dir, e.name);
      const name = `${rel}/${e.name}`;
      if (e.name === '.git' || skipped.has(full)) continue;
      if (e.isDirectory()) {
        hash.update(`d ${name}\0`);
        entries?.set(full, DIR);
        await walk(full, name);
        continue;
      }
      const st = await fs.stat(full).catch(() => undefined);
      if (e.isSymbolicLink() && (st === undefined || st.isDirectory())) {
        const target = await fs.readlink(full);
        hash.update(`l ${name} ${target}\0`);
        entries?.set(full, `l ${target}`);
        continue;
      }
      if (!st?.isFile()) continue;
      files++;
      bytes += st.size;
      if (files > TREE_LIMITS.files || bytes > TREE_LIMITS.bytes) {
        throw new Uncacheable(
          `${roots.join(', ')} holds more than ${TREE_LIMITS.files} files or ${TREE_LIMITS.bytes} bytes`,
        );
      }
      const kind = `f ${st.size} ${st.mode & 0o111 ? 'x' : '-'}`;
      const content = await fs.readFile(full);
      hash.update(`f ${name} ${kind.slice(2)}\0`);
      hash.update(content);
      entries?.set(full, `${kind} ${createHash('sha256').update(content).digest('hex')}`);
    }
  };
  for (const root of roots) {
    hash.update(`r ${root}\0`);
    entries?.set(path.resolve(root), DIR);
    await walk(root, '');
  }
  return hash.digest('hex');
}

/** What `treeDigest` records for a directory. */
const DIR = 'd';

/**
 * One digest of what the given paths hold now, from a tree's `entries`: a file's contents, a directory's whole
 * subtree, or that the path does not exist. Store paths never change and are left out. Undefined when a path is
 * neither in the tree nor absent from it (outside the roots, or in a directory the tree leaves out): what it holds
 * is not known, so whatever read it must be evaluated again. With `home`, a relative path is one under it, and the
 * digest names paths under it relatively: the same files at another place give the same digest.
 */
export async function readsDigest(
  reads: readonly string[],
  entries: ReadonlyMap<string, string>,
  roots: readonly string[],
  home?: string,
  storeDir = '/nix/store',
): Promise<string | undefined> {
  const hash = createHash('sha256');
  let sorted: string[] | undefined;
  const inRoots = (p: string) => roots.some((r) => p === r || p.startsWith(r + path.sep));
  const named = (p: string) =>
    home !== undefined && (p === home || p.startsWith(home + path.sep)) ? path.relative(home, p) : p;
  for (const read of [...reads].sort()) {
    const p = path.isAbsolute(read) ? read : path.join(home ?? '/', read);
    if (p.startsWith(`${storeDir}/`)) continue;
    const held = entries.get(p);
    if (held === DIR) {
      sorted ??= [...entries.keys()].sort();
      hash.update(`d ${read}\0`);
      for (const k of sorted) if (k.startsWith(p + path.sep)) hash.update(`${named(k)} ${entries.get(k)}\0`);
    } else if (held !== undefined) {
      hash.update(`${read} ${held}\0`);
    } else if (inRoots(p) && (await fs.lstat(p).catch(() => undefined)) === undefined) {
      hash.update(`absent ${read}\0`);
    } else {
      return undefined;
    }
  }
  return hash.digest('hex');
}

/** Nix's search path when NIX_PATH is unset or empty (Nix 2.x, for `home`'s user). */
export function defaultNixPath(home: string, user: string): string[] {
  const channels = `/nix/var/nix/profiles/per-user/${user}/channels`;
  return [`${home}/.nix-defexpr/channels`, `nixpkgs=${channels}/nixpkgs`, channels];
}

/**
 * What each search path entry resolves to. A path in the Nix store is immutable, so its real path stands for its
 * contents (a channel update changes the profile's link, hence the real path); an entry that does not exist is
 * "absent". A plain directory (a nixpkgs checkout) or a URL may change without any sign here: the evaluation is
 * then not cached at all, rather than digesting tens of thousands of files each time.
 */
export async function resolveNixPath(entries: readonly string[], storeDir = '/nix/store'): Promise<string[]> {
  const out: string[] = [];
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const prefix = eq >= 0 ? entry.slice(0, eq) : '';
    const target = eq >= 0 ? entry.slice(eq + 1) : entry;
    if (target.includes('://')) throw new Uncacheable(`NIX_PATH entry ${entry} is a URL`);
    const real = await fs.realpath(target).catch(() => undefined);
    if (real === undefined) out.push(`${prefix}=absent:${target}`);
    else if (real.startsWith(`${storeDir}/`)) out.push(`${prefix}=${real}`);
    else throw new Uncacheable(`NIX_PATH entry ${entry} is a directory outside the Nix store`);
  }
  return out;
}

/** The entries of a NIX_PATH value (colon-separated; empty entries dropped). */
export function nixPathEntries(value: string | undefined, home: string, user: string): string[] {
  if (value?.includes('://')) throw new Uncacheable(`NIX_PATH holds a URL`);
  const entries = (value ?? '').split(':').filter(Boolean);
  return entries.length > 0 ? entries : defaultNixPath(home, user);
}
