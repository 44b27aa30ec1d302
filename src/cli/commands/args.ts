// `reconix show-arguments` and `reconix set-args` (NixOps'): the network's arguments. The manifest is the source
// of truth, so set-args edits spec.network.args of the manifest file in place, keeping the rest of its YAML.
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadDeployments } from '../../source/load.js';
import type { LoadedDeployment } from '../../source/deployments.js';
import { writeFileAtomic } from '../../state/file-store.js';
import { globals, type Cli } from '../wiring/cli.js';
import { print } from '../wiring/each.js';

/** The one deployment of -f (and -d) whose arguments are shown or set. */
async function oneDeployment(cli: Cli): Promise<LoadedDeployment> {
  const g = globals(cli);
  const result = await loadDeployments(path.resolve(g.file), path.join(g.stateDir, 'scratch'));
  const found = result.deployments.filter((d) => !g.deployment || d.name === g.deployment);
  for (const e of result.errors) process.stderr.write(`error: ${e.path}: ${e.message}\n`);
  if (found.length === 1) return found[0]!;
  throw new Error(
    found.length === 0
      ? (result.empty ?? `no NixDeployment${g.deployment ? ` named ${g.deployment}` : ''} in ${g.file}`)
      : `${g.file} has several deployments: choose one with -d`,
  );
}

/**
 * The manifest text with the arguments of deployment `name` changed: `set` values, `unset` names removed, the
 * rest of the file (comments, other documents, order) as it was.
 */
export function editArgs(
  text: string,
  file: string,
  name: string,
  set: Record<string, string>,
  unset: readonly string[],
): string {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new Error(`${file}: not a YAML stream`);
  const doc = docs.find((d) => d.get('kind') === 'NixDeployment' && d.getIn(['metadata', 'name']) === name);
  if (!doc) throw new Error(`${file}: no NixDeployment named ${name}`);
  for (const [k, v] of Object.entries(set)) doc.setIn(['spec', 'network', 'args', k], v);
  for (const k of unset) doc.deleteIn(['spec', 'network', 'args', k]);
  const args = doc.getIn(['spec', 'network', 'args']) as { items?: unknown[] } | undefined;
  if (args?.items?.length === 0) doc.deleteIn(['spec', 'network', 'args']);
  // The Document API writes flow collections in one style: the one the file uses most ("[a]" or "[ a ]").
  const padded = (text.match(/: [[{] \S/g) ?? []).length;
  const tight = (text.match(/: [[{][^\s\]}]/g) ?? []).length;
  return docs.map((d) => d.toString({ flowCollectionPadding: padded > tight })).join('');
}

const pairs = (v: string, prev: string[] = []) => [...prev, v];

export function argsCommands(cli: Cli): Command[] {
  const show = cli.program
    .command('show-arguments')
    .description("the network's arguments (spec.network.args of the manifest)")
    .option('--json', 'print as JSON')
    .action(async (o: { json?: boolean }) => {
      const d = await oneDeployment(cli);
      const args = d.spec.network.args ?? {};
      if (o.json) return print(JSON.stringify(args, null, 2));
      const names = Object.keys(args).sort();
      print(
        names.length === 0
          ? 'no arguments'
          : names.map((k) => `${k} = ${JSON.stringify(args[k])}`).join('\n'),
      );
    });
  const set = cli.program
    .command('set-args')
    .description("set or unset the network's arguments, editing spec.network.args of the manifest file")
    .option('--arg <name value...>', 'set argument NAME to the string VALUE', pairs)
    .option('--unset <name>', 'remove argument NAME', pairs)
    .action(async (o: { arg?: string[]; unset?: string[] }) => {
      const words = o.arg ?? [];
      if (words.length % 2 !== 0) throw new Error('--arg takes a NAME and a VALUE');
      const setArgs: Record<string, string> = {};
      for (let i = 0; i < words.length; i += 2) setArgs[words[i]!] = words[i + 1]!;
      if (words.length === 0 && !o.unset?.length)
        throw new Error('set-args needs --arg NAME VALUE or --unset NAME');
      const d = await oneDeployment(cli);
      const text = await readFile(d.manifestPath, 'utf8');
      const edited = editArgs(text, d.manifestPath, d.name, setArgs, o.unset ?? []);
      await writeFileAtomic(d.manifestPath, edited, 0o644);
      print(
        `edited spec.network.args of ${d.name} in ${d.manifestPath} (the manifest is the source of truth)`,
      );
    });
  return [show, set];
}
