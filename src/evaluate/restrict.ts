// Nix's restricted evaluation for networks that come from someone else (Kubernetes objects): the evaluation may
// read only the network's own directory, its argument files and Reconix's Nix library, fetch nothing, and see none
// of the controller's environment.
import { realpathSync } from 'node:fs';
import { dirname, sep } from 'node:path';
import type { NetworkSource } from '../core/ports.js';

/**
 * Nix settings of the controller's that a restricted evaluation keeps (where the store is and how to reach it);
 * every other variable, credentials included, stays out of nix-instantiate's environment.
 */
export const NIX_SETTINGS_KEPT = [
  'NIX_REMOTE',
  'NIX_CONF_DIR',
  'NIX_STORE_DIR',
  'NIX_STATE_DIR',
  'NIX_LOG_DIR',
  'NIX_DATA_DIR',
] as const;

/** The directories a restricted evaluation may read. */
export interface AllowedDirs {
  /** The network's own directory: the manifest's directory, the source root's tree or the inline files' one. */
  network: string;
  /** This call's argument files (args, facts, machine list), made for this evaluation alone. */
  eval: string;
  /** Reconix's Nix library (nix/ of the installation). */
  lib: string;
}

/**
 * The directory a network's files may import from: the one its source names, else the deepest directory that holds
 * all of its files.
 */
export function networkDir(src: NetworkSource): string {
  if (src.root) return src.root;
  const [first, ...rest] = src.files.map((f) => dirname(f));
  if (first === undefined) throw new Error(`${src.deployment}: no network files`);
  let common = first;
  for (const d of rest) {
    while (common !== sep && d !== common && !d.startsWith(common + sep)) common = dirname(common);
  }
  return common;
}

/**
 * nix-instantiate's options for a restricted evaluation. The search path names only the allowed directories, each
 * under a name a network cannot mistake for a channel (`<nixpkgs>` stays unresolved), and `nix-path` is emptied so
 * that the default channels are not added to what may be read. Paths are resolved, because Nix checks the real
 * path of every file it reads against them. Pure evaluation is not used: it refuses every file outside the store,
 * the network's own included; restricted mode already answers `builtins.getEnv` with "".
 */
export function restrictedArgs(dirs: AllowedDirs): string[] {
  const real = (p: string) => realpathSync(p);
  return [
    '--option',
    'restrict-eval',
    'true',
    '--option',
    'allowed-uris',
    '',
    '--option',
    'nix-path',
    '',
    '-I',
    `reconix-network=${real(dirs.network)}`,
    '-I',
    `reconix-eval=${real(dirs.eval)}`,
    '-I',
    `reconix-lib=${real(dirs.lib)}`,
  ];
}

/** The environment of a restricted nix-instantiate: a PATH, an empty HOME and TMPDIR, and the kept Nix settings. */
export function restrictedEnv(from: NodeJS.ProcessEnv, home: string, tmp: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: from.PATH ?? '/usr/bin:/bin', HOME: home, TMPDIR: tmp };
  for (const name of NIX_SETTINGS_KEPT) {
    const value = from[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}
