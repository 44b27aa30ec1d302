// `reconix info`: what Reconix knows of each machine, next to what the machine runs now.
import type { DeploymentState } from '../api/model.js';
import type { ReconcileReport } from '../reconcile/report.js';
import { checkResults } from './check.js';
import { shortPath, table } from './render.js';

export function renderInfo(
  name: string,
  report: ReconcileReport,
  state: DeploymentState,
  json: boolean,
): string {
  const checks = new Map(checkResults(report).machines.map((c) => [c.machine, c]));
  const rows = Object.values(report.machines)
    .sort((a, b) => a.machine.localeCompare(b.machine))
    .map((m) => {
      const rec = state.machines[m.machine];
      const c = checks.get(m.machine);
      return {
        machine: m.machine,
        target: m.env,
        address: m.address ?? rec?.endpoint?.host ?? '-',
        activated: rec?.activated?.system,
        generation: rec?.activated?.generation,
        held: rec?.hold ? rec.hold.generation : undefined,
        state: !c?.exists
          ? 'missing'
          : !c.up
            ? 'down'
            : !c.reachable
              ? 'unreachable'
              : c.drifted
                ? 'DRIFTED'
                : c.outdated
                  ? 'outdated'
                  : 'in sync',
        lastDeploy: rec?.lastDeploy ? `${rec.lastDeploy.at}${rec.lastDeploy.ok ? '' : ' (failed)'}` : '-',
      };
    });
  if (json) return JSON.stringify({ deployment: name, status: state.status, machines: rows }, null, 2);
  const header = `Deployment ${name}${state.status ? ` — last reconcile ${state.status.at}: ${state.status.ok ? 'ok' : `${state.status.reason}: ${state.status.message}`}` : ''}`;
  return [
    header,
    table(
      ['MACHINE', 'TARGET', 'ADDRESS', 'ACTIVATED SYSTEM', 'GEN', 'STATE', 'LAST DEPLOY'],
      rows.map((r) => [
        r.machine,
        r.target,
        r.address,
        shortPath(r.activated),
        r.generation === undefined ? '-' : `${r.generation}${r.held !== undefined ? ' (held)' : ''}`,
        r.state,
        r.lastDeploy,
      ]),
    ),
  ].join('\n');
}
