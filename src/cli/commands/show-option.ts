// `reconix show-option MACHINE OPTION`: a machine's config.<option> as JSON, from its module system (mini or
// nixos), with the facts the state records injected as a deploy would.
import type { Command } from 'commander';
import { openRun } from '../../apply/operations.js';
import { collectFacts } from '../../observe/targets.js';
import type { Cli } from '../wiring/cli.js';
import { eachDeployment } from '../wiring/each.js';

/** An option's path, checked: dot-separated names; deployment.keys holds secrets and is not shown. */
export function optionPath(option: string): string[] {
  const parts = option.split('.');
  if (parts.some((p) => !/^[A-Za-z_][A-Za-z0-9_'-]*$/.test(p))) {
    throw new Error(`invalid option ${JSON.stringify(option)}: expected names separated by dots`);
  }
  if (parts[0] === 'deployment' && (parts[1] === undefined || parts[1] === 'keys')) {
    throw new Error(`${option} holds secrets (deployment.keys): not shown`);
  }
  return parts;
}

export function showOptionCommand(cli: Cli): Command {
  return cli.program
    .command('show-option <machine> <option>')
    .description("a machine's config.<option> as JSON (e.g. networking.hostName, deployment.targetEnv)")
    .action(
      eachDeployment(cli, (sel, _o, machine: string, option: string) => {
        const parts = optionPath(option);
        return {
          op: 'plan',
          run: async (req) => {
            const { evaluator } = sel.deps;
            if (!evaluator.option) throw new Error('this evaluator cannot show options');
            const o = await openRun({ ...req, include: [machine] }, sel.deps, false);
            try {
              if (!o.physical.machines[machine]) throw new Error(`${req.name} has no machine ${machine}`);
              return await evaluator.option(
                req.source,
                collectFacts(o.ctx, o.doc, o.physical, o.targets),
                machine,
                parts,
              );
            } finally {
              await o.doc.release();
            }
          },
          text: (value) => JSON.stringify(value, null, 2),
        };
      }),
    );
}
