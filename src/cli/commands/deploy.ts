// `reconix deploy`: the reconcile, once; exit 1 when some machines failed, 2 when the deployment did.
import type { Command } from 'commander';
import { exitCode } from '../../report/exit.js';
import { deployOutput } from '../output.js';
import { renderDeploy } from '../render.js';
import type { Cli } from '../wiring/cli.js';
import { reconcileEach } from '../wiring/each.js';
import { activation, cloudOptions, maxParallel, selection } from '../wiring/options.js';

export function deployCommand(cli: Cli): Command {
  const deploy = cloudOptions(selection(cli.program.command('deploy'))).description(
    'create missing hosts and cloud resources, build, copy and activate what changed',
  );
  return activation(maxParallel(deploy, 'machines copied and activated at once'))
    .option('--json', 'print progress events, then the report, as JSON lines')
    .action(
      reconcileEach(cli, 'deploy', {
        text: renderDeploy,
        json: deployOutput,
        code: exitCode,
        progress: 'always',
      }),
    );
}
