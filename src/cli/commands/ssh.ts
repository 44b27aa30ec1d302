// `reconix ssh <machine>`: a shell or a command on one machine of the one selected deployment.
import type { Command } from 'commander';
import { sshAccess } from '../../apply/operations.js';
import { setup, type Cli } from '../wiring/cli.js';
import { sshTarget } from '../wiring/ssh-target.js';

export function sshCommand(cli: Cli): Command {
  return cli.program
    .command('ssh <machine> [command...]')
    .description("a shell (or a command) on a machine, with Reconix's key and the machine's pinned host key")
    .action(async (machine: string, command: string[]) => {
      const sel = await setup(cli, {});
      const { file, stateDir } = sel.globals;
      if (sel.deployments.length > 1) {
        return cli.program.error(`error: ${file} has several deployments: choose one with -d`);
      }
      const access = await sshAccess(sel.request(sel.deployments[0]!, 'plan'), sel.deps, machine);
      const target = sshTarget(machine, access, stateDir);
      if (target instanceof Error) return cli.program.error(`error: ${target.message}`);
      const { runSsh } = await import('../ssh.js');
      process.exitCode = await runSsh(target, command);
    });
}
