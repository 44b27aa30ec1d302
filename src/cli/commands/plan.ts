// `reconix plan`: what deploy would do; exit 1 when it would change something, 2 when the plan failed.
import type { Command } from 'commander';
import { planOutput } from '../output.js';
import { exitCode } from '../../report/exit.js';
import { reconcileDeployment } from '../../reconcile/reconciler.js';
import { renderPlan } from '../render.js';
import type { Cli } from '../wiring/cli.js';
import { eachDeployment } from '../wiring/each.js';
import { cloudOptions, selection } from '../wiring/options.js';

export function planCommand(cli: Cli): Command {
  return cloudOptions(selection(cli.program.command('plan')))
    .description('show what deploy would do; exit 0: no changes, 1: changes, 2: error')
    .option('--json', 'print the plan as JSON')
    .option(
      '--diff',
      'per machine whose system changes, what changes on it (packages and versions, sizes, /etc files, units to ' +
        'restart); builds the new systems',
    )
    .action(
      eachDeployment(cli, (sel, o) => ({
        op: 'plan',
        run: (req) => reconcileDeployment(o.diff ? { ...req, diff: true } : req, sel.deps),
        text: renderPlan,
        json: planOutput,
        code: exitCode,
      })),
    );
}
