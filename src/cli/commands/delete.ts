// `reconix delete`: forget a deployment that has nothing left (NixOps' delete); --force forgets what is left too.
import type { Command } from 'commander';
import type { DeploymentState } from '../../core/model.js';
import type { Cli } from '../wiring/cli.js';
import { print } from '../wiring/each.js';
import { namedDeployments, stateStore } from '../wiring/state.js';

/** What a deployment's state still records as existing: hosts Reconix created, cloud resources. */
export function leftOver(st: DeploymentState): string[] {
  const hosts = Object.entries(st.machines)
    .filter(([, m]) => m.target !== undefined)
    .map(([n, m]) => `host ${n} (${m.targetEnv})`);
  const resources = Object.values(st.resources).map((r) => `resource ${r.type}.${r.name}`);
  return [...hosts, ...resources];
}

export function deleteCommand(cli: Cli): Command {
  return cli.program
    .command('delete')
    .description('forget a deployment that has no host or cloud resource left (destroy it first)')
    .option('--force', 'forget it even so, leaving what it created as it is')
    .action(async (o: { force?: boolean }) => {
      const store = stateStore(cli);
      const recorded = await store.list();
      for (const name of await namedDeployments(cli)) {
        if (!recorded.includes(name)) {
          process.stderr.write(`error: no state is recorded for deployment ${name} in ${store.dir}\n`);
          process.exitCode = 1;
          continue;
        }
        const handle = await store.acquire(name, 'reconix delete');
        try {
          const left = leftOver(handle.state);
          if (left.length > 0 && !o.force) {
            process.stderr.write(
              `error: ${name} still has ${left.join(', ')}: destroy it first, or forget it with --force\n`,
            );
            process.exitCode = 1;
            continue;
          }
          if (left.length > 0) {
            process.stderr.write(`warning: ${name} is forgotten with ${left.join(', ')} left as they are\n`);
          }
          await store.remove(name);
        } finally {
          await handle.release();
        }
        print(`deleted ${name}`);
      }
    });
}
