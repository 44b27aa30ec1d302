// `reconix delete-generation <generation>`: one generation of the system profile deleted on machines.
import type { Command } from 'commander';
import { deleteGeneration } from '../../apply/operations.js';
import type { Cli } from '../wiring/cli.js';
import { eachDeployment, operation } from '../wiring/each.js';
import { int, selection } from '../wiring/options.js';

export function deleteGenerationCommand(cli: Cli): Command {
  return selection(cli.program.command('delete-generation <generation>'))
    .description('delete a generation of the system profile on machines')
    .action(
      eachDeployment(cli, (sel, _o, gen: string) =>
        operation((req) => deleteGeneration(req, sel.deps, int(gen)), 'deleted generation', String),
      ),
    );
}
