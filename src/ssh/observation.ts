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
 * Prints tab-separated records: the resolved targets of /run/current-system and of the profile, the profile's link
 * (`system-N-link`), the boot id, and one line per generation link with its target and mtime. The script takes no
 * input, so nothing from a spec reaches the remote shell. `readlink -e` prints nothing for a missing link.
 */
export const OBSERVE_SCRIPT = [
  `p=${SYSTEM_PROFILE}`,
  `printf 'current\\t%s\\n' "$(readlink -e /run/current-system)"`,
  `printf 'profile\\t%s\\n' "$(readlink -e "$p")"`,
  `printf 'link\\t%s\\n' "$(readlink "$p")"`,
  // Builtins where they do (read, a glob): every process the script starts is paid on every host at every resync.
  `b=; read -r b </proc/sys/kernel/random/boot_id; printf 'boot\\t%s\\n' "$b"`,
  `if [ -d "\${p%/*}" ]; then find "\${p%/*}" -maxdepth 1 -type l -name 'system-*-link' -printf 'gen\\t%f\\t%l\\t%T@\\n'; fi`,
  // The newest detached activation (ids sort by start time, and a glob expands sorted) and its status line.
  `a=; for d in ${ACTIVATIONS}/*; do [ -e "$d" ] && a=\${d##*/}; done`,
  `if [ -n "$a" ]; then st=; read -r st 2>/dev/null <"${ACTIVATIONS}/$a/status"; printf 'activation\\t%s\\t%s\\n' "$a" "$st"; fi`,
  'exit 0',
].join('\n');

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
  for (const line of stdout.split('\n')) {
    const [kind, ...fields] = line.split('\t');
    const value = fields[0] ?? '';
    switch (kind) {
      case 'current':
        if (value) obs.currentSystem = value;
        break;
      case 'profile':
        if (value) obs.profileSystem = value;
        break;
      case 'link':
        currentGeneration = generationOfLink(value);
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
        const number = generationOfLink(value);
        const [, path, mtime] = fields;
        if (number === undefined || !path) break;
        obs.generations.push({ number, path, createdAt: Math.floor(Number(mtime) || 0), current: false });
        break;
      }
    }
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
