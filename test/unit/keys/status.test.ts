// A machine whose keys are missing stands out in the Kubernetes status and in check, by key name only.
import assert from 'node:assert/strict';
import { Reason } from '../../../src/api/conditions.js';
import { checkResults } from '../../../src/cli/check.js';
import type { ReconcileReport } from '../../../src/report/report.js';
import { machineStatus } from '../../../src/controller/kube/status.js';

const report: ReconcileReport = {
  deployment: 'd',
  op: 'check',
  ok: true,
  reason: Reason.ReconciliationSucceeded,
  message: '',
  plan: { machines: [], actions: [] },
  machines: {
    web: {
      machine: 'web',
      env: 'local',
      verdict: 'up-to-date',
      outcome: 'unchanged',
      keys: { missing: ['token'], delivered: [] },
    },
    db: {
      machine: 'db',
      env: 'local',
      verdict: 'up-to-date',
      outcome: 'unchanged',
      keys: { missing: [], delivered: [] },
    },
  },
  startedAt: new Date(0).toISOString(),
  durationMs: 0,
};

describe('keys in status and check', () => {
  it('shows KeysMissing with the key names in the Kubernetes status', () => {
    const { machineStates } = machineStatus(report);
    assert.deepEqual(machineStates[0], {
      name: 'web',
      state: 'KeysMissing',
      message: 'keys missing or changed: token',
    });
    assert.equal(machineStates[1]?.state, 'Ready');
  });

  it('sets check bit 32 for the machine with missing keys only', () => {
    const out = checkResults(report);
    assert.equal(out.exitCode, 32);
    assert.deepEqual(out.machines.find((m) => m.machine === 'web')?.keysMissing, ['token']);
    assert.equal(out.machines.find((m) => m.machine === 'db')?.keysMissing, undefined);
  });
});
