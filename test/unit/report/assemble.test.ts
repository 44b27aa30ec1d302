import assert from 'node:assert/strict';
import { Reason } from '../../../src/api/conditions.js';
import { ReconixError } from '../../../src/core/errors.js';
import type { PhysicalView } from '../../../src/core/model.js';
import type { ReconcileRequest } from '../../../src/core/request.js';
import type { Action } from '../../../src/plan/actions.js';
import { assembleReport } from '../../../src/report/assemble.js';
import type { RunResults } from '../../../src/report/outcomes.js';

const sys = (n: string) => `/nix/store/${n.repeat(32)}-nixos-system-${n}`;
const req: ReconcileRequest = {
  name: 'd',
  source: { files: [], args: {}, builder: 'auto' } as unknown as ReconcileRequest['source'],
  op: 'deploy',
  driftPolicy: 'Correct',
  mode: 'switch',
  maxParallel: 1,
};
const physical: PhysicalView = {
  description: '',
  resources: {},
  machines: Object.fromEntries(['a', 'b', 'c'].map((n) => [n, { name: n, targetEnv: 'local' }])),
} as unknown as PhysicalView;
const up = {
  exists: true,
  running: true,
  endpoint: { host: '127.0.0.1', port: 22, user: 'root' },
  facts: {},
};
const activate = (m: string): Action[] => [
  { kind: 'copy', machine: m, system: sys(m) },
  { kind: 'activate', machine: m, system: sys(m), mode: 'switch', cause: 'changed' },
];

/** Three machines up, each with a new system to copy and activate. */
function threeUpdates(): RunResults {
  const names = ['a', 'b', 'c'];
  return {
    physical,
    selected: names,
    resources: { changes: [], facts: {} },
    observed: { seen: { a: up, b: up, c: up }, failures: [] },
    targetPlan: {
      machines: names.map((m) => ({ machine: m, env: 'local', verdict: 'up-to-date' })),
      actions: [],
    },
    provisioned: [],
    targets: { a: up, b: up, c: up },
    configured: {
      desired: Object.fromEntries(names.map((m) => [m, { drvPath: `${sys(m)}.drv`, outPath: sys(m) }])),
      connected: { sessions: new Map(), failures: [] },
      hosts: { views: {}, failures: [] },
    },
    systemPlan: {
      machines: names.map((m) => ({ machine: m, env: 'local', verdict: 'update', system: sys(m) })),
      actions: names.flatMap(activate),
    },
  };
}
const at = { started: new Date(0), ended: new Date(5) };

describe('assembling the report from what the stages returned', () => {
  it('a cancelled deploy reports Cancelled, to retry, with what was not done left planned', () => {
    const results: RunResults = {
      ...threeUpdates(),
      applied: [
        {
          machine: 'a',
          copied: { paths: 1, bytes: 10 },
          outcome: 'activated',
          current: sys('a'),
          generation: 2,
        },
        { machine: 'b', cancelled: true },
        { machine: 'c', cancelled: true },
      ],
    };
    const report = assembleReport({ req, ...at, results, cancelled: true });
    assert.equal(report.ok, false);
    assert.equal(report.reason, Reason.Cancelled);
    assert.deepEqual(report.error && { reaction: report.error.reaction, scope: report.error.scope }, {
      reaction: 'retry',
      scope: 'deployment',
    });
    assert.equal(report.machines.a!.outcome, 'activated');
    assert.equal(report.machines.a!.generation, 2);
    assert.equal(report.machines.b!.outcome, 'planned');
    assert.equal(report.machines.c!.outcome, 'planned');
    assert.match(report.message, /cancelled: 1 machines activated, 2 left planned/);
  });

  it('a deploy cancelled before connecting leaves machines to create planned and the others unchanged', () => {
    const results: RunResults = {
      physical,
      selected: ['a', 'b'],
      observed: { seen: { a: { exists: false, running: false, facts: {} }, b: up }, failures: [] },
      targetPlan: {
        machines: [
          { machine: 'a', env: 'local', verdict: 'create' },
          { machine: 'b', env: 'local', verdict: 'up-to-date' },
        ],
        actions: [{ kind: 'create-target', machine: 'a', env: 'local' }],
      },
      provisioned: [],
    };
    const report = assembleReport({ req, ...at, results, cancelled: true });
    assert.equal(report.reason, Reason.Cancelled);
    assert.equal(report.machines.a!.outcome, 'planned');
    assert.equal(report.machines.b!.outcome, 'unchanged');
  });

  it("a machine's failure keeps its reaction, and the report's error says the machines failed", () => {
    const stall = { reason: Reason.ActivationFailed, message: 'a: no disk', reaction: 'stall' as const };
    const results: RunResults = {
      ...threeUpdates(),
      applied: [
        { machine: 'a', failure: stall },
        { machine: 'b', outcome: 'activated', current: sys('b') },
        { machine: 'c', outcome: 'activated', current: sys('c') },
      ],
    };
    const report = assembleReport({ req, ...at, results, cancelled: false });
    assert.deepEqual(report.machines.a!.error, stall);
    assert.equal(report.machines.a!.outcome, 'failed');
    assert.deepEqual(report.error, { ...stall, message: report.message, scope: 'machines' });
  });

  it('a host that cannot be reached is unreachable, one that failed once reached is failed', () => {
    const base = threeUpdates();
    const unreachable = { reason: Reason.HostUnreachable, message: 'a: refused', reaction: 'retry' as const };
    const mismatch = { reason: Reason.HostKeyMismatch, message: 'b: key', reaction: 'stall' as const };
    const results: RunResults = {
      ...base,
      configured: {
        ...base.configured!,
        connected: {
          sessions: new Map(),
          failures: [
            { machine: 'a', failure: unreachable, unreachable: true },
            { machine: 'b', failure: mismatch },
          ],
        },
      },
      applied: [],
    };
    const report = assembleReport({ req, ...at, results, cancelled: false });
    assert.equal(report.machines.a!.outcome, 'unreachable');
    assert.equal(report.machines.b!.outcome, 'failed');
    assert.equal(report.reason, Reason.PartialFailure);
  });

  it('a deployment-level error wins over a cancellation, with the reaction it carries', () => {
    const err = new ReconixError(Reason.EvaluationFailed, 'syntax error', { reaction: 'stall' });
    const report = assembleReport({
      req,
      ...at,
      results: { physical, selected: [] },
      cancelled: true,
      error: err,
    });
    assert.equal(report.reason, Reason.EvaluationFailed);
    assert.deepEqual(report.error, {
      reason: Reason.EvaluationFailed,
      message: 'syntax error',
      reaction: 'stall',
      scope: 'deployment',
    });
  });

  it('a plan marks updates planned and records the systems, addresses and created targets', () => {
    const report = assembleReport({
      req: { ...req, op: 'plan' },
      ...at,
      results: threeUpdates(),
      cancelled: false,
    });
    assert.equal(report.ok, true);
    for (const m of ['a', 'b', 'c']) {
      assert.equal(report.machines[m]!.outcome, 'planned');
      assert.equal(report.machines[m]!.system, sys(m));
      assert.equal(report.machines[m]!.address, '127.0.0.1');
    }
    assert.equal(report.plan.actions.length, 6);
  });
});
