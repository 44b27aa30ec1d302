// `reconix scp [--from] MACHINE SRC DST` (NixOps' scp --to/--from): the system's scp, with Reconix's key and only
// the machine's pinned host key trusted, as `reconix ssh` has.
import type { Command } from 'commander';
import type { Cli } from '../wiring/cli.js';
import { selectedTarget } from '../wiring/ssh-target.js';

export function scpCommand(cli: Cli): Command {
  return cli.program
    .command('scp <machine> <src> <dst>')
    .description('copy SRC here to DST on a machine (--from: SRC on the machine to DST here) with scp')
    .option('--from', 'copy from the machine')
    .option('--to', 'copy to the machine (the default)')
    .action(async (machine: string, src: string, dst: string, o: { from?: boolean; to?: boolean }) => {
      if (o.from && o.to) return cli.program.error('error: --from and --to: choose one');
      const target = await selectedTarget(cli, machine);
      const { runScp } = await import('../ssh.js');
      process.exitCode = await runScp(target, o.from === true, src, dst);
    });
}
