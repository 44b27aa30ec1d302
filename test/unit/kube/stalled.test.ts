// Conditions derived from a report whose failure stalls, retries or went away.
import assert from 'node:assert/strict';
import { Reason } from '../../../src/api/conditions.js';
import { type Failure } from '../../../src/core/errors.js';
import type { MachineReport, ReconcileReport } from '../../../src/report/report.js';
import { conditionOf, resultStatus } from '../../../src/controller/kube/status.js';

const SYNTAX: Failure = {
  reason: Reason.EvaluationFailed,
  message: 'evaluating default.web failed: error: syntax error, unexpected ID, at /x/network.nix:3:7',
  reaction: 'stall',
};

function report(error?: Failure, machines: MachineReport[] = []): ReconcileReport {
  return {
    deployment: 'default.web',
    op: 'deploy',
    ok: !error,
    reason: error?.reason ?? Reason.ReconciliationSucceeded,
    message: error?.message ?? '1 machines reconciled, 0 activated',
    ...(error ? { error: { ...error, scope: 'deployment' as const } } : {}),
    plan: { machines: [], actions: [] },
    machines: Object.fromEntries(machines.map((m) => [m.machine, m])),
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 1,
  };
}

const status = (r: ReconcileReport, prev?: ReturnType<typeof resultStatus>, now = 'T1') =>
  resultStatus(prev, { generation: 3, now, report: r });

describe('the Stalled condition', () => {
  it('is True, with the reason and the Nix message, when the report says retrying cannot help', () => {
    // GIVEN a report whose evaluation failed on a syntax error
    const s = status(report(SYNTAX));
    // THEN Stalled and Ready say the same thing
    const stalled = conditionOf(s, 'Stalled');
    const ready = conditionOf(s, 'Ready');
    assert.equal(stalled?.status, 'True');
    assert.equal(stalled?.reason, 'EvaluationFailed');
    assert.match(stalled?.message ?? '', /network\.nix:3/);
    assert.deepEqual(
      { status: ready?.status, reason: ready?.reason, message: ready?.message },
      { status: 'False', reason: 'EvaluationFailed', message: stalled?.message },
    );
    assert.equal(s.observedGeneration, 3);
  });

  it('is True when the machines that failed all stalled', () => {
    const host: Failure = {
      reason: Reason.ProvisioningFailed,
      message: '1 of 1 machines failed: web: local hosts need an absolute base directory of plain characters',
      reaction: 'stall',
    };
    const web: MachineReport = {
      machine: 'web',
      env: 'local',
      verdict: 'create',
      outcome: 'failed',
      error: { ...host, message: 'local hosts need an absolute base directory of plain characters' },
    };
    const s = status(report(host, [web]));
    assert.equal(conditionOf(s, 'Stalled')?.reason, 'ProvisioningFailed');
    assert.equal(s.machineStates?.[0]?.state, 'Failed');
  });

  it('is absent for a failure that retrying may fix, and goes away when it is', () => {
    const stalled = status(report(SYNTAX));
    const retrying = status(report({ ...SYNTAX, reaction: 'retry' }), stalled, 'T2');
    assert.equal(conditionOf(retrying, 'Stalled'), undefined);
    assert.equal(conditionOf(retrying, 'Ready')?.status, 'False');
    const waiting = status(report({ ...SYNTAX, reason: Reason.StateLocked, reaction: 'wait' }), stalled);
    assert.equal(conditionOf(waiting, 'Stalled'), undefined);
    const fixed = status(report(), stalled, 'T3');
    assert.equal(conditionOf(fixed, 'Stalled'), undefined);
    assert.equal(conditionOf(fixed, 'Ready')?.status, 'True');
    assert.equal(conditionOf(fixed, 'Ready')?.lastTransitionTime, 'T3');
  });

  it('follows a failure outside the report (a Secret) over the report', () => {
    const s = resultStatus(undefined, {
      generation: 1,
      now: 'T',
      failure: {
        reason: Reason.SecretNotFound,
        message: 'key "id_ed25519" of Secret default/web-ssh is missing or empty',
        reaction: 'stall',
      },
    });
    assert.equal(conditionOf(s, 'Stalled')?.reason, 'SecretNotFound');
    assert.equal(conditionOf(s, 'Ready')?.reason, 'SecretNotFound');
  });

  it('treats a failed report that gives no error as worth a retry', () => {
    const r = { ...report(), ok: false, reason: Reason.PartialFailure, message: 'failed' };
    const s = status(r);
    assert.equal(conditionOf(s, 'Ready')?.status, 'False');
    assert.equal(conditionOf(s, 'Stalled'), undefined);
  });
});
