// `reconix export` / `reconix import`: a deployment's recorded state as JSON on stdout, and back from stdin
// (NixOps' export and import), to move a deployment to another state dir or keep a copy.
import type { Command } from 'commander';
import { text } from 'node:stream/consumers';
import type { DeploymentState } from '../../core/model.js';
import { assertDeploymentName } from '../../state/file-store.js';
import type { Cli } from '../wiring/cli.js';
import { print } from '../wiring/each.js';
import { namedDeployments, stateStore } from '../wiring/state.js';

export function exportCommands(cli: Cli): Command[] {
  const exp = cli.program
    .command('export')
    .description("print the recorded state of deployments as JSON, by name (-d, the manifests', or --all)")
    .option('--all', 'every deployment recorded in the state dir')
    .action(async (o: { all?: boolean }) => {
      const store = stateStore(cli);
      const recorded = await store.list();
      const names = o.all ? recorded.sort() : await namedDeployments(cli);
      const out: Record<string, DeploymentState> = {};
      for (const name of names) {
        if (!recorded.includes(name)) {
          process.stderr.write(`error: no state is recorded for deployment ${name} in ${store.dir}\n`);
          process.exitCode = 1;
          continue;
        }
        out[name] = await store.read(name);
      }
      print(JSON.stringify(out, null, 2));
    });
  const imp = cli.program
    .command('import')
    .description('record the deployments of an export read from stdin')
    .option('--force', 'replace the state of deployments already recorded')
    .action(async (o: { force?: boolean }) => {
      const store = stateStore(cli);
      const states = parseExport(await text(process.stdin));
      const recorded = await store.list();
      const clash = Object.keys(states).filter((n) => recorded.includes(n));
      if (clash.length > 0 && !o.force) {
        return cli.program.error(
          `error: ${clash.join(', ')} already recorded in ${store.dir}: not overwritten without --force`,
        );
      }
      for (const [name, state] of Object.entries(states)) {
        const handle = await store.acquire(name, 'reconix import');
        try {
          for (const k of Object.keys(handle.state))
            delete (handle.state as unknown as Record<string, unknown>)[k];
          Object.assign(handle.state, state);
          await handle.save();
        } finally {
          await handle.release();
        }
        print(`imported ${name}${clash.includes(name) ? ' (replaced the state recorded before)' : ''}`);
      }
    });
  return [exp, imp];
}

/** The deployments of an export, checked: names, version and the parts every state has. */
export function parseExport(input: string): Record<string, DeploymentState> {
  let doc: unknown;
  try {
    doc = JSON.parse(input);
  } catch (err) {
    throw new Error(`stdin is not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new Error('stdin is not an export: expected an object of deployment states by name');
  }
  for (const [name, st] of Object.entries(doc as Record<string, unknown>)) {
    assertDeploymentName(name);
    const s = st as Partial<DeploymentState> | null;
    if (typeof s !== 'object' || s === null || s.version !== 1) {
      throw new Error(`deployment ${name}: not a state of version 1`);
    }
    if (s.name !== name) throw new Error(`deployment ${name}: its state is named ${String(s.name)}`);
    if (typeof s.machines !== 'object' || typeof s.resources !== 'object') {
      throw new Error(`deployment ${name}: machines and resources are missing`);
    }
  }
  return doc as Record<string, DeploymentState>;
}
