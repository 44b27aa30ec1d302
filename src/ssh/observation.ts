// What a host says about itself, read by one fixed script and parsed here (pure, so it is unit tested).
import {
  ActivationReasons,
  type ActivationReason,
  type ActivationState,
  type ActivationStatus,
  type Generation,
  type HostObservation,
} from '../core/model.js';

export const SYSTEM_PROFILE = '/nix/var/nix/profiles/system';
/** Where detached activations keep their state (see activation.ts). */
export const ACTIVATIONS = '/nix/var/reconix/activations';

/**
 * Prints tab-separated records: the resolved target of /run/current-system, the boot id, the newest detached
 * activation and its status, and one line per link of the profiles directory named `system*` (the profile itself
 * and its generations) with its target, mtime and the type of what it finally points to (`N` when that is
 * missing). The script takes no input, so nothing from a spec reaches the remote shell. It runs on every host at
 * every resync, so it starts one process, `find`, in place of the shell (exec): the rest is builtins (`cd -P`
 * resolves the link as `readlink -e` would, `read` and a glob read the files).
 */
export const OBSERVE_SCRIPT = [
  `p=${SYSTEM_PROFILE}`,
  `if cd -P /run/current-system 2>/dev/null; then printf 'current\\t%s\\n' "$PWD"; fi`,
  `b=; read -r b </proc/sys/kernel/random/boot_id; printf 'boot\\t%s\\n' "$b"`,
  // The newest detached activation (ids sort by start time, and a glob expands sorted) and its status line.
  `a=; for d in ${ACTIVATIONS}/*; do [ -e "$d" ] && a=\${d##*/}; done`,
  `if [ -n "$a" ]; then st=; read -r st 2>/dev/null <"${ACTIVATIONS}/$a/status"; printf 'activation\\t%s\\t%s\\n' "$a" "$st"; fi`,
  `if [ ! -d "\${p%/*}" ]; then exit 0; fi`,
  `exec find "\${p%/*}" -maxdepth 1 -type l -name "\${p##*/}*" -printf 'gen\\t%f\\t%l\\t%T@\\t%Y\\n'`,
].join('\n');

/** The profile's own name in its directory (`system`), as the observe script lists it among its generations. */
const PROFILE_NAME = SYSTEM_PROFILE.slice(SYSTEM_PROFILE.lastIndexOf('/') + 1);
/** find's %Y for a link whose target is missing (N) or a loop (L). */
const DANGLING = new Set(['N', 'L', '?']);

const GENERATION_LINK = /^system-(\d+)-link$/;

/** The generation number a profile link name (`system-12-link`) stands for. */
export function generationOfLink(name: string): number | undefined {
  const m = GENERATION_LINK.exec(name.replace(/^.*\//, ''));
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** Parse the output of OBSERVE_SCRIPT. Lines it does not understand are ignored. */
export function parseObservation(stdout: string): HostObservation {
  const obs: HostObservation = { generations: [] };
  let currentGeneration: number | undefined;
  let profileLink: { target: string; exists: boolean } | undefined;
  const targets = new Map<number, string>();
  for (const line of stdout.split('\n')) {
    const [kind, ...fields] = line.split('\t');
    const value = fields[0] ?? '';
    switch (kind) {
      case 'current':
        if (value) obs.currentSystem = value;
        break;
      case 'boot':
        if (value) obs.bootId = value;
        break;
      case 'activation': {
        const status = parseActivationStatus(value, fields[1] ?? '');
        if (status) obs.lastActivation = status;
        break;
      }
      case 'gen': {
        const [, path, mtime, type] = fields;
        if (!path) break;
        const exists = type === undefined || !DANGLING.has(type);
        if (value === PROFILE_NAME) {
          profileLink = { target: path, exists };
          break;
        }
        const number = generationOfLink(value);
        if (number === undefined) break;
        if (exists) targets.set(number, path);
        obs.generations.push({ number, path, createdAt: Math.floor(Number(mtime) || 0), current: false });
        break;
      }
    }
  }
  if (profileLink) {
    // The profile points at a generation link (system-N-link), or, set by hand, straight at a system.
    currentGeneration = generationOfLink(profileLink.target);
    const system = currentGeneration === undefined ? profileLink.target : targets.get(currentGeneration);
    if (profileLink.exists && system?.startsWith('/')) obs.profileSystem = system;
  }
  obs.generations.sort((a, b) => a.number - b.number);
  for (const g of obs.generations) g.current = g.number === currentGeneration;
  return obs;
}

export function currentGeneration(generations: Generation[]): Generation | undefined {
  return generations.find((g) => g.current);
}

const STATES: readonly string[] = [
  'activating',
  'awaiting-confirmation',
  'confirmed',
  'done',
  'rolling-back',
  'rolled-back',
  'rollback-failed',
];

/** Parse an activation's `status` file ("<state> [<reason>]"); undefined for anything else. */
export function parseActivationStatus(id: string, text: string): ActivationStatus | undefined {
  const [state, reason] = text.trim().split(/\s+/);
  if (!id || !state || !STATES.includes(state)) return undefined;
  const known = (ActivationReasons as readonly string[]).includes(reason ?? '');
  return { id, state: state as ActivationState, ...(known ? { reason: reason as ActivationReason } : {}) };
}
