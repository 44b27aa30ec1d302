// Planning keys is pure: (declared keys with their digests, what the host has, what was delivered) -> actions.
import type { DeliveredKey } from '../core/model.js';
import type { Action } from '../plan/actions.js';
import type { KeyObservation } from './remote.js';
import { DEFAULT_KEY_DIR, DONE_MARKER, keyPath, modeOf, type DesiredKey } from './spec.js';

export type DeliverKeys = Extract<Action, { kind: 'deliver-keys' }>;

export interface KeyPlanInput {
  machine: string;
  /** Declared keys with the SHA-256 of their content. */
  desired: Readonly<Record<string, { key: DesiredKey; sha256: string }>>;
  /** What the host has, by file path (keys and /run/keys/done). */
  observed: Readonly<Record<string, KeyObservation | undefined>>;
  recorded: Readonly<Record<string, DeliveredKey>> | undefined;
}

export interface KeyPlan {
  /** At most one pre-activation and one post-activation action. */
  actions: DeliverKeys[];
  /** Declared keys that are missing or not as declared on the host, by name. */
  missing: string[];
}

export const DONE_PATH = keyPath(DONE_MARKER, DEFAULT_KEY_DIR);

const sameAccount = (want: string, name: string | undefined, id: string | undefined) =>
  want === name || want === id;

/** Whether the host's file is the declared key: content, owner, group and mode. */
export function keyInPlace(key: DesiredKey, sha256: string, obs: KeyObservation | undefined): boolean {
  return (
    obs?.exists === true &&
    obs.sha256 === sha256 &&
    sameAccount(key.user, obs.user, obs.uid) &&
    sameAccount(key.group, obs.group, obs.gid) &&
    obs.mode === modeOf(key.permissions)
  );
}

const inDefaultDir = (key: DesiredKey) => key.destDir.replace(/\/+$/, '') === DEFAULT_KEY_DIR;

export function planKeys(input: KeyPlanInput): KeyPlan {
  const names = Object.keys(input.desired).sort();
  const missing = names.filter((n) => {
    const d = input.desired[n]!;
    return !keyInPlace(d.key, d.sha256, input.observed[keyPath(n, d.key.destDir)]);
  });
  const wanted = new Set(names.map((n) => keyPath(n, input.desired[n]!.key.destDir)));
  const remove = Object.entries(input.recorded ?? {})
    .map(([n, rec]) => keyPath(n, rec.destDir))
    .filter((p) => !wanted.has(p))
    .sort();
  const pre = missing.filter((n) => input.desired[n]!.key.uploadAt === 'pre-activation');
  const post = missing.filter((n) => input.desired[n]!.key.uploadAt === 'post-activation');
  const usesDone = names.some((n) => inDefaultDir(input.desired[n]!.key));
  const doneMissing = usesDone && (missing.length > 0 || !input.observed[DONE_PATH]?.exists);

  const actions: DeliverKeys[] = [];
  const action = (uploadAt: DeliverKeys['uploadAt'], keys: string[]): DeliverKeys => ({
    kind: 'deliver-keys',
    machine: input.machine,
    uploadAt,
    keys,
    remove: [],
    markDone: false,
  });
  if (pre.length > 0) actions.push(action('pre-activation', pre));
  if (post.length > 0 || (actions.length === 0 && (remove.length > 0 || doneMissing)))
    actions.push(action('post-activation', post));
  const last = actions.at(-1);
  if (last) {
    last.remove = remove;
    last.markDone = doneMissing;
  }
  return { actions, missing };
}

/**
 * Put each machine's key actions around its activation: pre-activation ones right before it, post-activation ones
 * right after (so they only run once it succeeded); a machine that is not activated gets them at its end.
 */
export function placeKeyActions(system: readonly Action[], keys: readonly DeliverKeys[]): Action[] {
  const out = [...system];
  for (const k of keys) {
    const at = out.findIndex((a) => a.machine === k.machine && a.kind === 'activate');
    if (at < 0) {
      out.push(k);
    } else if (k.uploadAt === 'pre-activation') {
      out.splice(at, 0, k);
    } else {
      out.splice(at + 1, 0, k);
    }
  }
  return out;
}
