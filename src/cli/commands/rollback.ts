// `reconix rollback <generation>`: switch machines to another generation, held there until the spec changes.
import type { Command } from 'commander';
import { rollback } from '../../apply/operations.js';
import { shortPath } from '../render.js';
import type { Cli } from '../wiring/cli.js';
import { eachDeployment, operation } from '../wiring/each.js';
import { int, selection } from '../wiring/options.js';

export function rollbackCommand(cli: Cli): Command {
  return selection(cli.program.command('rollback <generation>'))
    .description(
      'switch machines to an earlier (or later) generation and hold them there until the spec changes',
    )
    .action(
      eachDeployment(cli, (sel, _o, gen: string) =>
        operation(
          (req) => rollback(req, sel.deps, int(gen)),
          'switched to',
          (v) => `${shortPath(v.system)}${v.copied ? ` (re-copied ${v.copied} paths)` : ''}`,
        ),
      ),
    );
}
