// Where ssh and exec reach a machine: its access with the host key pinned, and the key to log in with.
import type { SshAccess } from '../../apply/operations.js';
import { clientKeyFile } from '../deps.js';
import type { SshTarget } from '../ssh.js';

/** The ssh target of a machine, or why there is none yet. */
export function sshTarget(machine: string, access: SshAccess, stateDir: string): SshTarget | Error {
  if (!access.hostKey) {
    return new Error(`${machine}: no host key is pinned yet (deploy it first, or set hostPublicKey)`);
  }
  return {
    machine,
    access: { ...access, hostKey: access.hostKey },
    keyFile: access.keyFile ?? clientKeyFile(stateDir),
  };
}
