// A host fetching a closure from a binary cache over HTTP (Nix 2.8 has no S3 store), trusting one signing key
// only: the one it was first given, pinned in its /nix like a host key. Nix refuses a path without a signature
// by that key, and one whose NAR does not hash to what its signed narinfo says.
import { shellJoin, shellQuote } from '../util/shell.js';

/** Where a host keeps the binary-cache key it trusts. */
export const CACHE_KEY_PIN = '/nix/var/reconix/binary-cache-key';

/** The exit status of the script when the host holds another key than the one offered. */
export const PIN_MISMATCH = 97;

/** What the host is told: where the cache is and the key that signed it. */
export interface CacheSource {
  url: string;
  publicKey: string;
}

/**
 * The shell script that pins the key (first use) or checks it against the pin, then realises `paths` from the
 * cache with that key as the only trusted one. A pin that differs prints it on stdout and exits PIN_MISMATCH.
 */
export function substituteScript(paths: readonly string[], from: CacheSource): string {
  const pin = shellQuote(CACHE_KEY_PIN);
  const key = shellQuote(from.publicKey);
  const realise = shellJoin([
    'nix-store',
    '--realise',
    ...paths,
    '--option',
    'substituters',
    from.url,
    '--option',
    'trusted-public-keys',
    from.publicKey,
    '--option',
    'require-sigs',
    'true',
    // Each try asks the cache afresh: a path refused or missing once must not stay refused or missing.
    '--option',
    'narinfo-cache-negative-ttl',
    '0',
    '--option',
    'narinfo-cache-positive-ttl',
    '0',
    '--option',
    'max-jobs',
    '0',
  ]);
  return [
    'set -e',
    `mkdir -p ${shellQuote('/nix/var/reconix')}`,
    `if [ -e ${pin} ]; then`,
    `  if [ "$(cat ${pin})" != ${key} ]; then cat ${pin}; exit ${PIN_MISMATCH}; fi`,
    'else',
    `  printf '%s\\n' ${key} > ${pin}.tmp && mv ${pin}.tmp ${pin}`,
    'fi',
    `exec ${realise}`,
  ].join('\n');
}
