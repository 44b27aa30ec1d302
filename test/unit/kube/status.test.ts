import assert from 'node:assert/strict';
import { Reason } from '../../../src/api/conditions.js';
import { MAX_LISTED_MACHINES } from '../../../src/api/deployment.js';
import type { MachineReport, ReconcileReport } from '../../../src/report/report.js';
import { eventsFor } from '../../../src/controller/kube/events.js';
import { triggerOf, type NixDeploymentObject } from '../../../src/kube/object.js';
import { conditionOf, progressingStatus, resultStatus } from '../../../src/controller/kube/status.js';

function report(machines: MachineReport[], ok = true, extra: Partial<ReconcileReport> = {}): ReconcileReport {
  return {
    deployment: 'default.fleet',
    op: 'deploy',
    ok,
    reason: ok ? Reason.ReconciliationSucceeded : Reason.PartialFailure,
    message: ok ? 'fine' : 'some failed',
    plan: { machines: [], actions: [] },
    machines: Object.fromEntries(machines.map((m) => [m.machine, m])),
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 1,
    ...extra,
  };
}
const machine = (name: string, outcome: MachineReport['outcome'], error?: string): MachineReport => ({
  machine: name,
  env: 'none',
  verdict: 'up-to-date',
  outcome,
  system: `/nix/store/${name}-system`,
  ...(error
    ? { error: { reason: Reason.ActivationFailed, message: error, reaction: 'retry' as const } }
    : {}),
});

describe('NixDeployment status', () => {
  it('stays bounded for a thousand machines, listing failing and drifted ones first', () => {
    // GIVEN 1,000 machines of which 3 failed and 2 drifted
    const ms = Array.from({ length: 1000 }, (_, i) => machine(`m${String(i).padStart(4, '0')}`, 'unchanged'));
    ms[500] = machine('m0500', 'failed', 'x'.repeat(10_000));
    ms[501] = machine('m0501', 'unreachable', 'no route');
    ms[999] = machine('m0999', 'failed', 'exit 3');
    ms[7] = machine('m0007', 'drift-reported');
    ms[8] = machine('m0008', 'drift-reported');
    // WHEN the status is computed
    const s = resultStatus(undefined, { generation: 4, now: 'T', report: report(ms, false) });
    // THEN the counts cover all machines and the list is short and ordered by trouble
    assert.deepEqual(s.machines, { total: 1000, ready: 995, drifted: 2, failed: 3 });
    assert.equal(s.machineStates?.length, MAX_LISTED_MACHINES);
    assert.deepEqual(
      s.machineStates?.slice(0, 5).map((m) => `${m.name}:${m.state}`),
      ['m0500:Failed', 'm0999:Failed', 'm0501:Unreachable', 'm0007:Drifted', 'm0008:Drifted'],
    );
    assert.ok((s.machineStates?.[0]?.message?.length ?? 0) <= 256);
    assert.ok(JSON.stringify(s).length < 16 * 1024, 'well below what etcd takes');
    assert.equal(conditionOf(s, 'Drifted')?.status, 'True');
    assert.match(conditionOf(s, 'Drifted')?.message ?? '', /2 machine\(s\).*m0007, m0008/);
  });

  it('lists a machine the host rolled back as RolledBack, with its reason in the message, and counts it failed', () => {
    const rolled: MachineReport = {
      ...machine('web', 'rolled-back'),
      error: {
        reason: Reason.ConnectivityLost,
        message: 'no new connection; rolled back',
        reaction: 'retry',
      },
    };
    const s = resultStatus(undefined, { generation: 2, now: 'T', report: report([rolled], false) });
    assert.deepEqual(s.machines, { total: 1, ready: 0, drifted: 0, failed: 1 });
    assert.equal(s.machineStates?.[0]?.state, 'RolledBack');
    assert.match(s.machineStates?.[0]?.message ?? '', /rolled back/);
  });

  it('keeps lastTransitionTime while a condition keeps its status, and moves it when it changes', () => {
    const first = resultStatus(undefined, { generation: 1, now: 'T1', report: report([]) });
    const again = resultStatus(first, { generation: 1, now: 'T2', report: report([]) });
    assert.equal(conditionOf(again, 'Ready')?.lastTransitionTime, 'T1');
    const failed = resultStatus(again, {
      generation: 2,
      now: 'T3',
      failure: {
        reason: Reason.SecretNotFound,
        message: 'Secret default/k does not exist',
        reaction: 'stall',
      },
    });
    assert.equal(conditionOf(failed, 'Ready')?.lastTransitionTime, 'T3');
    assert.equal(conditionOf(failed, 'Ready')?.reason, 'SecretNotFound');
    assert.equal(conditionOf(failed, 'Stalled')?.status, 'True');
    assert.equal(failed.observedGeneration, 2);
  });

  it('marks a new generation Reconciling and Ready=Unknown, a resync only Reconciling', () => {
    const done = resultStatus(undefined, {
      generation: 1,
      now: 'T1',
      report: report([]),
      revision: 'r1',
    });
    assert.equal(done.lastAppliedRevision, 'r1');
    assert.equal(conditionOf(progressingStatus(done, 2, 'T2', 'new spec'), 'Ready')?.status, 'Unknown');
    const resync = progressingStatus(done, 1, 'T2', 'resync');
    assert.equal(conditionOf(resync, 'Ready')?.status, 'True');
    assert.equal(conditionOf(resync, 'Reconciling')?.status, 'True');
    const after = resultStatus(resync, { generation: 1, now: 'T3', report: report([]) });
    assert.equal(conditionOf(after, 'Reconciling'), undefined);
  });

  it('keeps the machines it knew when a reconcile fails before seeing them', () => {
    const known = resultStatus(undefined, {
      generation: 1,
      now: 'T',
      report: report([machine('a', 'activated')]),
    });
    const evalFailed = resultStatus(known, {
      generation: 2,
      now: 'T',
      report: report([], false, { reason: Reason.EvaluationFailed }),
    });
    assert.deepEqual(evalFailed.machines, known.machines);
    assert.equal(conditionOf(evalFailed, 'Ready')?.reason, 'EvaluationFailed');
  });
});

describe('events of a reconcile', () => {
  it('makes one event per kind of change, not one per machine', () => {
    const ms = [
      ...Array.from({ length: 30 }, (_, i) => ({ ...machine(`web${i}`, 'activated'), created: true })),
      machine('db', 'drift-reported'),
      machine('cache', 'failed', 'exit 3; rolled back to generation 4'),
    ];
    const notes = eventsFor(report(ms, false, { revision: 'sha256:abc' }));
    assert.deepEqual(
      notes.map((n) => `${n.type}/${n.reason}`),
      [
        'Normal/Created',
        'Normal/Activated',
        'Warning/DriftDetected',
        'Warning/RolledBack',
        'Warning/PartialFailure',
      ],
    );
    assert.match(notes[1]!.message, /at sha256:abc on web0, web1, .* and 20 more$/);
  });
});

describe('what triggers a reconcile', () => {
  const obj = (
    generation: number,
    annotations: Record<string, string> = {},
    status = {},
  ): NixDeploymentObject => ({
    metadata: { name: 'a', namespace: 'default', generation, annotations },
    spec: { network: { files: ['n.nix'] } },
    status,
  });
  it('is the generation, requestedAt and deletion, never the status', () => {
    assert.equal(triggerOf(obj(1)), triggerOf(obj(1, {}, { observedGeneration: 1 })));
    assert.notEqual(triggerOf(obj(1)), triggerOf(obj(2)));
    assert.notEqual(triggerOf(obj(1)), triggerOf(obj(1, { 'reconix.dev/requestedAt': 'now' })));
    assert.equal(triggerOf(obj(1)), triggerOf(obj(1, { unrelated: 'x' })));
  });
});
