// What the state commands (list, export, import, unlock, delete) share: the state dir's store, and the
// deployments they act on without building any client.
import path from 'node:path';
import { loadDeployments } from '../../source/load.js';
import { FileStateStore } from '../../state/file-store.js';
import { globals, type Cli } from './cli.js';

export function stateStore(cli: Cli): FileStateStore {
  return new FileStateStore(globals(cli).stateDir);
}

/** The deployment -d names, or else those of the manifests of -f; exits 2 when there is none. */
export async function namedDeployments(cli: Cli): Promise<string[]> {
  const g = globals(cli);
  if (g.deployment) return [g.deployment];
  const result = await loadDeployments(path.resolve(g.file), path.join(g.stateDir, 'scratch'));
  for (const e of result.errors) process.stderr.write(`error: ${e.path}: ${e.message}\n`);
  if (result.deployments.length === 0) {
    process.stderr.write(`error: ${result.empty ?? `no NixDeployment in ${g.file}`}; name one with -d\n`);
    process.exit(2);
  }
  return result.deployments.map((d) => d.name);
}

/** Ask a yes/no question on the terminal; no terminal: no answer (undefined). */
export async function confirm(question: string): Promise<boolean | undefined> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}
