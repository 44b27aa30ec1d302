import assert from 'node:assert/strict';
import { Reason } from '../../../src/api/conditions.js';
import { exitCode } from '../../../src/report/exit.js';
import type { MachineReport, ReconcileReport } from '../../../src/report/report.js';

function report(over: Partial<ReconcileReport>): ReconcileReport {
  return {
    deployment: 'd',
    op: 'deploy',
    ok: true,
    reason: Reason.ReconciliationSucceeded,
    message: '',
    plan: { machines: [], actions: [] },
    machines: {},
    startedAt: 't',
    durationMs: 0,
    ...over,
  };
}
const failedMachine: MachineReport = {
  machine: 'a',
  env: 'local',
  verdict: 'update',
  outcome: 'failed',
  error: { reason: Reason.ActivationFailed, message: 'no', reaction: 'retry' },
};
const deploymentError = {
  reason: Reason.EvaluationFailed,
  message: 'x',
  reaction: 'stall' as const,
  scope: 'deployment' as const,
};

describe("the CLI's exit code, from the report", () => {
  const cases: [string, Partial<ReconcileReport>, number][] = [
    ['a deploy that succeeded exits 0', {}, 0],
    ['a deploy with a failed machine exits 1', { ok: false, machines: { a: failedMachine } }, 1],
    ['a deploy that failed as a whole exits 2', { ok: false, error: deploymentError }, 2],
    ['a cancelled deploy exits 2', { ok: false, reason: Reason.Cancelled }, 2],
    ['a plan without changes exits 0', { op: 'plan' }, 0],
    [
      'a plan with actions exits 1',
      {
        op: 'plan',
        plan: { machines: [], actions: [{ kind: 'copy', machine: 'a', system: '/nix/store/a' }] },
      },
      1,
    ],
    [
      'a plan with a resource to create exits 1',
      { op: 'plan', plan: { machines: [], actions: [], resources: [{ resource: 'k.a', action: 'create' }] } },
      1,
    ],
    [
      'a plan whose resources are unchanged exits 0',
      {
        op: 'plan',
        plan: { machines: [], actions: [], resources: [{ resource: 'k.a', action: 'unchanged' }] },
      },
      0,
    ],
    ['a plan that failed exits 2', { op: 'plan', ok: false, error: deploymentError }, 2],
  ];
  for (const [what, over, code] of cases) {
    it(what, () => {
      assert.equal(exitCode(report(over)), code);
    });
  }
});
