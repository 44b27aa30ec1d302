// The reconix command: the reconciler run once (deploy, plan, check...) or continuously (controller), a module
// per command under commands/, what they share under wiring/.
import type { Command } from 'commander';
import { argsCommands } from './commands/args.js';
import { checkCommand } from './commands/check.js';
import { controllerCommand } from './commands/controller.js';
import { deleteGenerationCommand } from './commands/delete-generation.js';
import { deleteCommand } from './commands/delete.js';
import { deployCommand } from './commands/deploy.js';
import { destroyCommand } from './commands/destroy.js';
import { dumpNixPathsCommand } from './commands/dump-nix-paths.js';
import { execCommand } from './commands/exec.js';
import { exportCommands } from './commands/export.js';
import { infoCommand } from './commands/info.js';
import { listGenerationsCommand } from './commands/list-generations.js';
import { listCommand } from './commands/list.js';
import { planCommand } from './commands/plan.js';
import { powerCommands } from './commands/power.js';
import { rollbackCommand } from './commands/rollback.js';
import { rolloutCommand } from './commands/rollout.js';
import { scpCommand } from './commands/scp.js';
import { sendKeysCommand } from './commands/send-keys.js';
import { showOptionCommand } from './commands/show-option.js';
import { showPhysicalCommand } from './commands/show-physical.js';
import { sshCommand } from './commands/ssh.js';
import { unlockCommand } from './commands/unlock.js';
import type { CliExtras } from './deps.js';
import { newCli, type Cli } from './wiring/cli.js';

/** The commands in the order the help lists them. */
const COMMANDS: readonly ((cli: Cli) => Command | Command[])[] = [
  planCommand,
  deployCommand,
  checkCommand,
  infoCommand,
  listGenerationsCommand,
  rollbackCommand,
  rolloutCommand,
  deleteGenerationCommand,
  destroyCommand,
  sendKeysCommand,
  powerCommands,
  sshCommand,
  scpCommand,
  execCommand,
  listCommand,
  showPhysicalCommand,
  showOptionCommand,
  argsCommands,
  dumpNixPathsCommand,
  exportCommands,
  unlockCommand,
  deleteCommand,
  controllerCommand,
];

/** The reconix program, its commands registered, with what the caller adds to the clients they build. */
export function reconixProgram(extras: CliExtras = {}): Command {
  const cli = newCli(extras);
  for (const register of COMMANDS) register(cli);
  return cli.program;
}

/** Run the reconix command on argv (shaped like process.argv), once per process, with what the caller adds. */
export async function runCli(argv: readonly string[], add: CliExtras = {}): Promise<void> {
  await reconixProgram(add)
    .parseAsync([...argv])
    .catch((err: unknown) => {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(2);
    });
}
