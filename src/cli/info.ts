// `reconix info`: what Reconix knows of each machine, next to what the machine runs now.
import type { DeploymentState } from '../core/model.js';
import type { InfoMachine, InfoOutput } from '../api/output.js';
import type { ReconcileReport } from '../report/report.js';
import { checkResults, cutsOff, type MachineCheck } from './check.js';
import { shortPath, table } from './render.js';

function stateOf(c: MachineCheck | undefined): InfoMachine['state'] {
  if (!c?.exists) return 'missing';
  if (!c.up) return 'down';
  if (!c.reachable) return c.error && !cutsOff(c.error) ? 'error' : 'unreachable';
  if (c.drifted) return 'drifted';
  if (c.outdated) return 'outdated';
  return c.error ? 'error' : 'in-sync';
}

export function infoOutput(report: ReconcileReport, state: DeploymentState): InfoOutput {
  const checks = new Map(checkResults(report).machines.map((c) => [c.machine, c]));
  const machines = Object.values(report.machines)
    .sort((a, b) => a.machine.localeCompare(b.machine))
    .map((m): InfoMachine => {
      const rec = state.machines[m.machine];
      const address = m.address ?? rec?.endpoint?.host;
      const last = rec?.lastDeploy;
      return {
        machine: m.machine,
        target: m.env,
        ...(address ? { address } : {}),
        ...(rec?.activated ? { activated: rec.activated.system } : {}),
        ...(rec?.activated?.generation ? { generation: rec.activated.generation } : {}),
        ...(rec?.hold ? { held: rec.hold.generation } : {}),
        state: stateOf(checks.get(m.machine)),
        ...(last
          ? { lastDeploy: { at: last.at, ok: last.ok, ...(last.message ? { message: last.message } : {}) } }
          : {}),
      };
    });
  const s = state.status;
  const status = s && {
    at: s.at,
    ok: s.ok,
    reason: s.reason,
    message: s.message,
    ...(s.revision ? { revision: s.revision } : {}),
  };
  return { deployment: report.deployment, ...(status ? { status } : {}), machines };
}

const STATE_WORDS: Record<InfoMachine['state'], string> = {
  missing: 'missing',
  down: 'down',
  unreachable: 'unreachable',
  error: 'error',
  drifted: 'DRIFTED',
  outdated: 'outdated',
  'in-sync': 'in sync',
};

export function renderInfo(info: InfoOutput): string {
  const s = info.status;
  const header = `Deployment ${info.deployment}${s ? ` — last reconcile ${s.at}: ${s.ok ? 'ok' : `${s.reason}: ${s.message}`}` : ''}`;
  return [
    header,
    table(
      ['MACHINE', 'TARGET', 'ADDRESS', 'ACTIVATED SYSTEM', 'GEN', 'STATE', 'LAST DEPLOY'],
      info.machines.map((r) => [
        r.machine,
        r.target,
        r.address ?? '-',
        shortPath(r.activated),
        r.generation === undefined ? '-' : `${r.generation}${r.held !== undefined ? ' (held)' : ''}`,
        STATE_WORDS[r.state],
        r.lastDeploy ? `${r.lastDeploy.at}${r.lastDeploy.ok ? '' : ' (failed)'}` : '-',
      ]),
    ),
  ].join('\n');
}
