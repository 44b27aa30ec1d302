// `reconix unlock`: remove a deployment's stale lock (left by a process that was killed), after confirming.
import type { Command } from 'commander';
import type { Cli } from '../wiring/cli.js';
import { print } from '../wiring/each.js';
import { confirm, namedDeployments, stateStore } from '../wiring/state.js';

export function unlockCommand(cli: Cli): Command {
  return cli.program
    .command('unlock')
    .description("remove a deployment's stale lock; never one whose process is alive on this host")
    .option('--yes', 'do not ask')
    .action(async (o: { yes?: boolean }) => {
      const store = stateStore(cli);
      for (const name of await namedDeployments(cli)) {
        const lock = await store.lockOf(name);
        if (!lock) {
          print(`${name}: not locked`);
          continue;
        }
        const holder = `pid ${lock.pid} on ${lock.host} (${lock.purpose}) since ${lock.since}`;
        if (lock.alive) {
          process.stderr.write(
            `error: ${name} is locked by ${holder}, which is still running: not unlocked\n`,
          );
          process.exitCode = 1;
          continue;
        }
        const yes = o.yes || (await confirm(`${name} is locked by ${holder}. Remove the lock?`));
        if (yes === undefined) {
          process.stderr.write(
            `error: ${name} is locked by ${holder}; confirm with --yes to remove the lock\n`,
          );
          process.exitCode = 1;
          continue;
        }
        if (!yes) {
          print(`${name}: left locked`);
          continue;
        }
        await store.removeLock(name);
        print(`${name}: removed the lock of ${holder}`);
      }
    });
}
