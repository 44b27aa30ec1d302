// `reconix stop`, `start` and `reboot`: the machines Reconix created, powered as asked.
import type { Command } from 'commander';
import { power } from '../../apply/operations.js';
import type { Cli } from '../wiring/cli.js';
import { eachDeployment, operation } from '../wiring/each.js';
import { selection } from '../wiring/options.js';

const OPS = [
  ['stop', 'stopped', 'stop the machines Reconix created (instances, local hosts)'],
  ['start', 'started', 'start stopped machines again'],
  ['reboot', 'rebooted', 'reboot the machines Reconix created'],
] as const;

export function powerCommands(cli: Cli): Command[] {
  return OPS.map(([op, verb, about]) =>
    selection(cli.program.command(op))
      .description(about)
      .action(
        eachDeployment(cli, (sel) =>
          operation(
            (req) => power(req, sel.deps, op),
            verb,
            (env) => `(${env})`,
          ),
        ),
      ),
  );
}
