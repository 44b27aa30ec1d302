// `reconix ssh <machine>`: a shell or a command on one machine of the one selected deployment.
import type { Command } from 'commander';
import type { Cli } from '../wiring/cli.js';
import { selectedTarget } from '../wiring/ssh-target.js';

export function sshCommand(cli: Cli): Command {
  return cli.program
    .command('ssh <machine> [command...]')
    .description("a shell (or a command) on a machine, with Reconix's key and the machine's pinned host key")
    .action(async (machine: string, command: string[]) => {
      const target = await selectedTarget(cli, machine);
      const { runSsh } = await import('../ssh.js');
      process.exitCode = await runSsh(target, command);
    });
}
