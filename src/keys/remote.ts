// The remote commands of key delivery and observation. Every word from a spec is quoted with shellQuote; a key's
// content only ever travels on the channel's stdin.
import { shellQuote } from '../util/shell.js';
import { DEFAULT_KEY_DIR, DONE_MARKER, keyPath, type DesiredKey } from './spec.js';

/** What the host says about one key file. */
export interface KeyObservation {
  exists: boolean;
  user?: string;
  uid?: string;
  group?: string;
  gid?: string;
  /** As `stat -c %a` prints it ("600"). */
  mode?: string;
  /** SHA-256 of the content, computed on the host. */
  sha256?: string;
}

/**
 * Write stdin to the key's file: a temporary name in destDir, created empty under umask 077 and given its owner
 * and mode before any content arrives, then filled, synced and renamed over the final name. A missing destDir is
 * made 0750, owned by root (group `keys` when the host has one, as on NixOS). Prints the file system type of
 * destDir (`fs<TAB>tmpfs`), which should be a tmpfs.
 */
export function deliverScript(name: string, key: DesiredKey): string {
  const dir = shellQuote(key.destDir);
  const tmp = shellQuote(keyPath(`.${name}.reconix-tmp`, key.destDir));
  const final = shellQuote(keyPath(name, key.destDir));
  return [
    'set -e',
    'umask 077',
    `if [ ! -d ${dir} ]; then`,
    `  mkdir -p -m 0750 ${dir}`,
    '  g=root; if getent group keys >/dev/null 2>&1; then g=keys; fi',
    `  chown "root:$g" ${dir}`,
    'fi',
    `trap 'rm -f ${tmp.replace(/'/g, `'\\''`)}' EXIT`,
    `rm -f ${tmp}`,
    `: > ${tmp}`,
    `chown ${shellQuote(`${key.user}:${key.group}`)} ${tmp}`,
    `chmod ${shellQuote(key.permissions)} ${tmp}`,
    `cat > ${tmp}`,
    `sync ${tmp}`,
    `mv -f ${tmp} ${final}`,
    `printf 'fs\\t%s\\n' "$(stat -f -c %T ${dir})"`,
  ].join('\n');
}

/** The file system type a delivery printed, if any. */
export function deliveredFsType(stdout: string): string | undefined {
  return /^fs\t(.+)$/m.exec(stdout)?.[1];
}

/** File systems whose content is gone at a reboot, as a key's should be. */
export function isVolatile(fsType: string | undefined): boolean {
  return fsType === 'tmpfs' || fsType === 'ramfs';
}

/** Mark that every key is in place (`/run/keys/done`, as NixOps does). */
export function doneScript(): string {
  const dir = shellQuote(DEFAULT_KEY_DIR);
  return `set -e\n[ -d ${dir} ] && : > ${shellQuote(`${DEFAULT_KEY_DIR}/${DONE_MARKER}`)}`;
}

/** Remove key files that are no longer declared. */
export function removeScript(paths: readonly string[]): string {
  return `rm -f -- ${paths.map(shellQuote).join(' ')}`;
}

/**
 * For each path: `key<TAB>path<TAB>user<TAB>uid<TAB>group<TAB>gid<TAB>mode<TAB>sha256`, or `nokey<TAB>path` when
 * it is not a regular file. The paths are quoted; the script always exits 0.
 */
export function probeScript(paths: readonly string[]): string {
  const lines = paths.map((p) => {
    const q = shellQuote(p);
    return (
      `if [ -f ${q} ] && [ ! -L ${q} ]; then ` +
      `printf 'key\\t%s\\t%s\\t%s\\n' ${q} "$(stat -c '%U\t%u\t%G\t%g\t%a' ${q})" "$(sha256sum < ${q} | cut -d' ' -f1)"; ` +
      `else printf 'nokey\\t%s\\n' ${q}; fi`
    );
  });
  return [...lines, 'exit 0'].join('\n');
}

/** Parse probeScript's output into an observation per path; a path it does not mention is missing. */
export function parseProbe(stdout: string, paths: readonly string[]): Record<string, KeyObservation> {
  const out: Record<string, KeyObservation> = Object.fromEntries(paths.map((p) => [p, { exists: false }]));
  for (const line of stdout.split('\n')) {
    const [kind, path, user, uid, group, gid, mode, sha] = line.split('\t');
    if (kind !== 'key' || path === undefined || !(path in out)) continue;
    out[path] = {
      exists: true,
      ...(user ? { user } : {}),
      ...(uid ? { uid } : {}),
      ...(group ? { group } : {}),
      ...(gid ? { gid } : {}),
      ...(mode ? { mode } : {}),
      ...(sha && /^[0-9a-f]{64}$/.test(sha) ? { sha256: sha } : {}),
    };
  }
  return out;
}
