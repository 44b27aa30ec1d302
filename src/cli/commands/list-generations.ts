// `reconix list-generations`: the system profile's generations of each machine.
import type { Command } from 'commander';
import { listGenerations } from '../../apply/operations.js';
import { renderGenerations } from '../render.js';
import type { Cli } from '../wiring/cli.js';
import { eachDeployment, failedAny } from '../wiring/each.js';
import { selection } from '../wiring/options.js';

export function listGenerationsCommand(cli: Cli): Command {
  return selection(cli.program.command('list-generations'))
    .description("list the system profile's generations of each machine")
    .action(
      eachDeployment(cli, (sel) => ({
        op: 'plan',
        run: (req) => listGenerations(req, sel.deps),
        text: renderGenerations,
        code: failedAny,
      })),
    );
}
