// `reconix send-keys` (NixOps' command): write the selected machines' keys now, whatever the hosts have.
import type { Command } from 'commander';
import type { Cli } from '../wiring/cli.js';
import { eachDeployment, operation } from '../wiring/each.js';
import { selection } from '../wiring/options.js';

export function sendKeysCommand(cli: Cli): Command {
  return selection(cli.program.command('send-keys'))
    .description("write the selected machines' keys now (deployment.keys), whatever the hosts have")
    .action(
      eachDeployment(cli, (sel) =>
        operation(
          async (req) => (await import('../../apply/send-keys.js')).sendKeys(req, sel.deps),
          'sent',
          (keys) => keys.join(' ') || '(no keys)',
        ),
      ),
    );
}
