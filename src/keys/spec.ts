// Keys as the deployer sees them: where each goes and who owns it, checked before any of it reaches a host.
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import type { KeySpec } from '../core/model.js';

export type { KeySpec };

/** Where a key comes from in Kubernetes mode: a key of a Secret in the NixDeployment's namespace. */
export interface SecretSource {
  secretRef: { name: string; key: string };
}

/** One declared key: its place on the host and one source (text, keyFile, keyCommand or a Secret). */
export type DesiredKey = Omit<KeySpec, 'text'> & { text?: string } & Partial<SecretSource>;

/** The directory of NixOps' keys, where `done` marks that every key is in place. */
export const DEFAULT_KEY_DIR = '/run/keys';
export const DONE_MARKER = 'done';

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@+=-]{0,254}$/;
const ACCOUNT = /^([a-z_][a-z0-9_-]{0,31}\$?|[0-9]{1,10})$/i;
const MODE = /^0?[0-7]{3}$/;

/** The file a key is written to. */
export function keyPath(name: string, destDir: string): string {
  return `${destDir.replace(/\/+$/, '')}/${name}`;
}

/** Why a key cannot be delivered as declared, or undefined. Never mentions the key's content. */
export function keyProblem(name: string, key: DesiredKey): string | undefined {
  if (!NAME.test(name) || name.startsWith('.'))
    return 'its name must be letters, digits and _ . @ + = - (not starting with a dot)';
  const dir = key.destDir;
  if (!dir.startsWith('/') || dir.includes('\n') || dir.split('/').includes('..'))
    return `destDir ${JSON.stringify(dir)} must be an absolute path without ".."`;
  if (dir.replace(/\/+$/, '') === DEFAULT_KEY_DIR && name === DONE_MARKER)
    return `"${DONE_MARKER}" in ${DEFAULT_KEY_DIR} is the marker that every key is present`;
  if (!ACCOUNT.test(key.user)) return `user ${JSON.stringify(key.user)} is not a user name or id`;
  if (!ACCOUNT.test(key.group)) return `group ${JSON.stringify(key.group)} is not a group name or id`;
  if (!MODE.test(key.permissions))
    return `permissions ${JSON.stringify(key.permissions)} must be an octal mode such as 0600`;
  return undefined;
}

export function checkKey(machine: string, name: string, key: DesiredKey): void {
  const problem = keyProblem(name, key);
  if (problem) {
    throw new ReconixError(Reason.KeyUnavailable, `${machine}: key ${JSON.stringify(name)}: ${problem}`, {
      reaction: 'stall',
    });
  }
}

/** A mode as `stat -c %a` prints it ("600"). */
export function modeOf(permissions: string): string {
  return parseInt(permissions, 8).toString(8);
}

export interface ResolvedKey {
  key: DesiredKey;
  content: Buffer;
  sha256: string;
}

/** Per machine, per key name: what this run delivers. */
export type RunKeys = Map<string, Map<string, ResolvedKey>>;
