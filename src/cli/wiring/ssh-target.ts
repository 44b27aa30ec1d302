// Where ssh and exec reach a machine: its access with the host key pinned, and the key to log in with.
import { sshAccess, type SshAccess } from '../../apply/operations.js';
import { clientKeyFile } from '../deps.js';
import type { SshTarget } from '../ssh.js';
import { setup, type Cli } from './cli.js';

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

/**
 * The ssh target of `machine` in the one deployment selected on the command line; exits with an error when
 * several are selected or the machine cannot be reached yet.
 */
export async function selectedTarget(cli: Cli, machine: string): Promise<SshTarget> {
  const sel = await setup(cli, {});
  const { file, stateDir } = sel.globals;
  if (sel.deployments.length > 1) {
    return cli.program.error(`error: ${file} has several deployments: choose one with -d`);
  }
  const access = await sshAccess(sel.request(sel.deployments[0]!, 'plan'), sel.deps, machine);
  const target = sshTarget(machine, access, stateDir);
  if (target instanceof Error) return cli.program.error(`error: ${target.message}`);
  return target;
}
