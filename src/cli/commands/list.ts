// `reconix list`: the deployments recorded in the state dir, with their machines and last outcome (NixOps' list).
import type { Command } from 'commander';
import type { Cli } from '../wiring/cli.js';
import { print } from '../wiring/each.js';
import { stateStore } from '../wiring/state.js';

export interface ListedDeployment {
  name: string;
  machines: string[];
  resources: number;
  lastOutcome?: { ok: boolean; reason: string; at: string };
}

export function listCommand(cli: Cli): Command {
  return cli.program
    .command('list')
    .description('the deployments recorded in the state dir: machines, last outcome and when')
    .option('--json', 'print as JSON')
    .action(async (o: { json?: boolean }) => {
      const store = stateStore(cli);
      const listed: ListedDeployment[] = [];
      for (const name of (await store.list()).sort()) {
        const st = await store.read(name);
        listed.push({
          name,
          machines: Object.keys(st.machines).sort(),
          resources: Object.keys(st.resources).length,
          ...(st.status
            ? { lastOutcome: { ok: st.status.ok, reason: st.status.reason, at: st.status.at } }
            : {}),
        });
      }
      if (o.json) return print(JSON.stringify(listed, null, 2));
      if (listed.length === 0) return print(`no deployments recorded in ${store.dir}`);
      const rows = listed.map((d) => [
        d.name,
        String(d.machines.length),
        d.lastOutcome ? (d.lastOutcome.ok ? 'ok' : d.lastOutcome.reason) : '-',
        d.lastOutcome?.at ?? '-',
      ]);
      print(table([['NAME', 'MACHINES', 'LAST OUTCOME', 'AT'], ...rows]));
    });
}

function table(rows: readonly string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
