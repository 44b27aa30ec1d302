// The fleet page's view: built from the last report of each deployment, with the progress of the reconcile running
// now drawn over it.
import assert from 'node:assert/strict';
import { Reason } from '../../../src/api/conditions.js';
import { FleetBoard } from '../../../src/fleet/board.js';
import type { MachineReport, ReconcileReport } from '../../../src/report/report.js';
import type { ReconcileRequest } from '../../../src/core/request.js';
import type { MachineStage, ProgressEvent } from '../../../src/core/progress.js';

const AT = new Date('2026-05-01T10:00:00.000Z');

function machine(
  name: string,
  outcome: MachineReport['outcome'],
  extra: Partial<MachineReport> = {},
): MachineReport {
  return { machine: name, env: 'local', verdict: 'up-to-date', outcome, ...extra };
}

function report(
  name: string,
  machines: MachineReport[],
  extra: Partial<ReconcileReport> = {},
): ReconcileReport {
  return {
    deployment: name,
    op: 'deploy',
    ok: true,
    reason: Reason.ReconciliationSucceeded,
    message: 'ok',
    plan: { machines: [], actions: [] },
    machines: Object.fromEntries(machines.map((m) => [m.machine, m])),
    startedAt: AT.toISOString(),
    durationMs: 1500,
    ...extra,
  };
}

const failedReport = (name: string, machines: MachineReport[] = []) =>
  report(name, machines, {
    ok: false,
    reason: Reason.EvaluationFailed,
    message: 'syntax error',
    error: {
      reason: Reason.EvaluationFailed,
      message: 'syntax error',
      reaction: 'stall',
      scope: 'deployment',
    },
  });

describe('the fleet view', () => {
  it('says each machine is ready, drifted, failed or pending as its last outcome was', () => {
    const board = new FleetBoard(() => AT);
    board.finished(
      report('web', [
        machine('a10', 'activated', { current: '/nix/store/x-a', generation: 3 }),
        machine('a2', 'drift-reported'),
        machine('a3', 'failed', {
          error: { reason: Reason.BuildFailed, message: 'boom', reaction: 'retry' },
        }),
        machine('a4', 'planned'),
      ]),
    );
    const [d] = board.view().deployments;
    assert.equal(d?.state, 'drifted');
    assert.equal(d?.reason, 'Drifted');
    assert.equal(d?.lastReconciledAt, '2026-05-01T10:00:01.500Z');
    assert.deepEqual(
      d?.machines.map((m) => [m.name, m.state, m.reason]),
      [
        ['a2', 'drifted', 'Drifted'],
        ['a3', 'failed', 'BuildFailed'],
        ['a4', 'pending', undefined],
        ['a10', 'ready', undefined],
      ],
    );
    assert.deepEqual(d?.machines.at(-1), {
      name: 'a10',
      state: 'ready',
      outcome: 'activated',
      system: '/nix/store/x-a',
      generation: 3,
    });
  });

  it('keeps the machines as last seen when the deployment fails before observing them', () => {
    const board = new FleetBoard(() => AT);
    board.finished(report('web', [machine('a', 'unchanged')]));
    board.finished(failedReport('web'));
    const [d] = board.view().deployments;
    assert.equal(d?.state, 'failed');
    assert.equal(d?.reason, Reason.EvaluationFailed);
    assert.deepEqual(
      d?.machines.map((m) => [m.name, m.state]),
      [['a', 'ready']],
    );
  });

  it('draws the stages and the wave of the reconcile running now over the last report', async () => {
    // GIVEN a deployment reconciled once, and a reconcile that reports progress and waits
    const board = new FleetBoard(() => AT);
    board.finished(report('web', [machine('a', 'unchanged'), machine('b', 'unchanged')]));
    let release: (r: ReconcileReport) => void = () => {};
    const seen: string[] = [];
    const reconcile = board.track(async (req: ReconcileRequest) => {
      const at = AT.toISOString();
      req.progress?.({ type: 'deployment', deployment: 'web', stage: 'applying', at });
      req.progress?.({
        type: 'wave',
        deployment: 'web',
        wave: 1,
        waves: 2,
        machines: ['a'],
        state: 'started',
        at,
      });
      req.progress?.({
        type: 'machine',
        deployment: 'web',
        machine: 'a',
        stage: 'copying',
        wave: 1,
        copied: { bytes: 10, total: 40 },
        at,
      });
      req.progress?.({
        type: 'machine',
        deployment: 'web',
        machine: 'b',
        stage: 'a-stage-of-tomorrow' as MachineStage,
        at,
      });
      return new Promise<ReconcileReport>((resolve) => (release = resolve));
    });

    // WHEN it runs
    const running = reconcile({
      name: 'web',
      progress: (e: ProgressEvent) => seen.push(e.type),
    } as unknown as ReconcileRequest);

    // THEN the page shows it rolling out, and the caller's own sink still gets every event
    const d = board.view().deployments[0]!;
    assert.equal(d.state, 'rolling-out');
    assert.equal(d.reconcilingSince, AT.toISOString());
    assert.equal(d.stage, 'applying');
    assert.deepEqual(d.rollout, { wave: 1, waves: 2, state: 'started', machines: ['a'] });
    assert.deepEqual(
      d.machines.map((m) => [m.name, m.state, m.stage, m.wave, m.copied]),
      [
        ['a', 'rolling-out', 'copying', 1, { bytes: 10, total: 40 }],
        ['b', 'rolling-out', 'a-stage-of-tomorrow', undefined, undefined],
      ],
    );
    assert.deepEqual(seen, ['deployment', 'wave', 'machine', 'machine']);

    // WHEN it ends, THEN its report is what the page shows
    release(report('web', [machine('a', 'activated'), machine('b', 'unchanged')]));
    await running;
    const after = board.view().deployments[0]!;
    assert.equal(after.state, 'ready');
    assert.equal(after.reconcilingSince, undefined);
    assert.deepEqual(
      after.machines.map((m) => [m.name, m.state, m.stage]),
      [
        ['a', 'ready', undefined],
        ['b', 'ready', undefined],
      ],
    );
  });

  it('keeps showing the last outcome while a resync runs without rolling anything out', () => {
    const board = new FleetBoard(() => AT);
    board.started('web');
    assert.equal(board.view().deployments[0]?.state, 'reconciling');
    board.finished(report('web', [machine('a', 'unchanged')]));
    board.started('web');
    board.progress({ type: 'machine', deployment: 'web', machine: 'a', stage: 'done', at: AT.toISOString() });
    const d = board.view().deployments[0]!;
    assert.deepEqual(
      [d.state, d.reconcilingSince, d.machines[0]?.state],
      ['ready', AT.toISOString(), 'ready'],
    );
  });

  it('shows a failure that left no report, and forgets a removed deployment', async () => {
    const board = new FleetBoard(() => AT);
    const reconcile = board.track(() =>
      Promise.reject(Object.assign(new Error('no such Secret'), { reason: 'SecretNotFound' })),
    );
    await assert.rejects(reconcile({ name: 'web' } as unknown as ReconcileRequest), /no such Secret/);
    assert.deepEqual(
      board.view().deployments.map((d) => [d.name, d.state, d.reason, d.message]),
      [['web', 'failed', 'SecretNotFound', 'no such Secret']],
    );
    board.remove('web');
    assert.deepEqual(board.view().deployments, []);
  });
});
