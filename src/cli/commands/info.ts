// `reconix info`: a table per machine of what a check finds and what the state records.
import type { Command } from 'commander';
import { reconcileDeployment } from '../../reconcile/reconciler.js';
import { infoOutput, renderInfo } from '../info.js';
import type { Cli } from '../wiring/cli.js';
import { eachDeployment } from '../wiring/each.js';
import { selection } from '../wiring/options.js';

export function infoCommand(cli: Cli): Command {
  return selection(cli.program.command('info'))
    .description('a table per machine: target, address, activated system, drift, last deploy')
    .option('--json', 'print as JSON')
    .action(
      eachDeployment(cli, (sel) => ({
        op: 'check',
        run: async (req, d) => {
          const report = await reconcileDeployment(req, sel.deps);
          return infoOutput(report, await sel.deps.state.read(d.name));
        },
        text: renderInfo,
        json: (info) => info,
      })),
    );
}
