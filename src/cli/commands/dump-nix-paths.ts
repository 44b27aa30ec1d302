// `reconix dump-nix-paths`: the store path of every machine's system (NixOps' dump-nix-paths), one per line;
// the derivations are instantiated, nothing is built.
import type { Command } from 'commander';
import { openRun } from '../../apply/operations.js';
import { collectFacts } from '../../observe/targets.js';
import type { Cli } from '../wiring/cli.js';
import { eachDeployment } from '../wiring/each.js';
import { selection } from '../wiring/options.js';

export function dumpNixPathsCommand(cli: Cli): Command {
  return selection(cli.program.command('dump-nix-paths'))
    .description("the store path of every machine's system, one per line (nothing is built)")
    .action(
      eachDeployment(cli, (sel) => ({
        op: 'plan',
        run: async (req) => {
          const o = await openRun(req, sel.deps, false);
          try {
            const facts = collectFacts(o.ctx, o.doc, o.physical, o.targets);
            const systems = await sel.deps.evaluator.systems(req.source, facts, o.selected);
            return o.selected.map((m) => systems[m]?.outPath).filter((p): p is string => p !== undefined);
          } finally {
            await o.doc.release();
          }
        },
        text: (paths) => paths.join('\n'),
      })),
    );
}
