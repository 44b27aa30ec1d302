// `reconix deploy`: the reconcile, once; exit 1 when some machines failed, 2 when the deployment did.
import type { Command } from 'commander';
import { reconcileDeployment } from '../../reconcile/reconciler.js';
import { exitCode } from '../../report/exit.js';
import { deployOutput } from '../output.js';
import { renderDeploy, renderDiffs } from '../render.js';
import type { Cli } from '../wiring/cli.js';
import { eachDeployment, print } from '../wiring/each.js';
import { activation, cloudOptions, maxParallel, selection } from '../wiring/options.js';

export function deployCommand(cli: Cli): Command {
  const deploy = cloudOptions(selection(cli.program.command('deploy'))).description(
    'create missing hosts and cloud resources, build, copy and activate what changed',
  );
  return activation(maxParallel(deploy, 'machines copied and activated at once'))
    .option('--json', 'print progress events, then the report, as JSON lines')
    .option('--diff', 'first show what changes on each machine whose system changes, as plan --diff does')
    .action(
      eachDeployment(cli, (sel, o) => ({
        op: 'deploy',
        run: async (req) => {
          if (!o.diff) return reconcileDeployment(req, sel.deps);
          // JSON: the diffs are in the deploy's own report, computed before it applies anything.
          if (sel.json) return reconcileDeployment({ ...req, diff: true }, sel.deps);
          // The plan that computes the diffs runs quietly: its report is what is shown.
          const { progress: _quiet, ...plan } = req;
          print(renderDiffs(await reconcileDeployment({ ...plan, op: 'plan', diff: true }, sel.deps)));
          return reconcileDeployment(req, sel.deps);
        },
        text: renderDeploy,
        json: deployOutput,
        code: exitCode,
        progress: 'always',
      })),
    );
}
