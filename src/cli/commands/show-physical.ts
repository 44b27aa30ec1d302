// `reconix show-physical`: the physical view as evaluated (machines, where they run, resources), building nothing.
import type { Command } from 'commander';
import type { PhysicalView } from '../../core/model.js';
import type { Cli } from '../wiring/cli.js';
import { eachDeployment } from '../wiring/each.js';

export function renderPhysical(name: string, p: PhysicalView): string {
  const lines = [`${name}: ${p.description}`];
  for (const m of Object.values(p.machines).sort((a, b) => a.name.localeCompare(b.name))) {
    const where = m.targetHost ? ` ${m.targetUser}@${m.targetHost}:${m.targetPort}` : '';
    const keys = m.keys.length > 0 ? ` keys: ${m.keys.join(', ')}` : '';
    lines.push(`  machine ${m.name}: ${m.targetEnv}${where}${keys}`);
  }
  for (const [type, byName] of Object.entries(p.resources)) {
    for (const r of Object.keys(byName).sort()) lines.push(`  resource ${type}.${r}`);
  }
  return lines.join('\n');
}

export function showPhysicalCommand(cli: Cli): Command {
  return cli.program
    .command('show-physical')
    .description('the physical view as evaluated: machines, their targets, resources; builds nothing')
    .option('--json', 'print as JSON')
    .action(
      eachDeployment(cli, (sel) => ({
        op: 'plan',
        run: async (req) => ({ name: req.name, physical: await sel.deps.evaluator.physical(req.source) }),
        text: (r) => renderPhysical(r.name, r.physical),
        json: (r) => ({ deployment: r.name, ...r.physical }),
      })),
    );
}
