// `reconix check`: each machine's existence, reachability and drift; the exit code ORs the deployments' bits.
import type { Command } from 'commander';
import { checkResults, renderCheck } from '../check.js';
import type { Cli } from '../wiring/cli.js';
import { bits, reconcileEach } from '../wiring/each.js';
import { selection } from '../wiring/options.js';

export function checkCommand(cli: Cli): Command {
  return selection(cli.program.command('check'))
    .description('report per machine: exists, up, reachable, drifted; exit code is a bitmask (see README)')
    .option('--json', 'print the results as JSON')
    .action(
      reconcileEach(cli, 'check', {
        text: (report, d) => `Deployment ${d.name}:\n${renderCheck(report)}`,
        json: checkResults,
        code: (report) => checkResults(report).exitCode,
        fold: bits,
      }),
    );
}
