// check's exit bits from reports of every kind of machine, and the plan's summary of unreachable machines.
import assert from 'node:assert/strict';
import { Reason } from '../../../src/api/conditions.js';
import { CheckBit, checkResults, renderCheck } from '../../../src/cli/check.js';
import { planOutput } from '../../../src/cli/output.js';
import { renderPlan } from '../../../src/cli/render.js';
import type { MachineReport, ReconcileReport } from '../../../src/report/report.js';
import { schemaErrors } from '../../support/schemas.js';

const SYS = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-m';
const OLD = '/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-nixos-system-m';

function report(machines: Partial<MachineReport>[], extra: Partial<ReconcileReport> = {}): ReconcileReport {
  const byName: Record<string, MachineReport> = {};
  machines.forEach((m, i) => {
    const name = m.machine ?? `m${i}`;
    byName[name] = { machine: name, env: 'none', verdict: 'up-to-date', outcome: 'unchanged', ...m };
  });
  const failed = machines.some((m) => m.error);
  return {
    deployment: 'd',
    op: 'check',
    ok: !failed,
    reason: failed ? Reason.PartialFailure : Reason.ReconciliationSucceeded,
    message: '',
    plan: {
      machines: Object.values(byName).map((m) => ({ machine: m.machine, env: m.env, verdict: m.verdict })),
      actions: [],
    },
    machines: byName,
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 1,
    ...extra,
  };
}

const refused = {
  reason: Reason.HostKeyMismatch,
  message: 'host key of h changed: pinned A, host presents B',
  reaction: 'stall' as const,
};

describe('check exit bits', () => {
  const cases: [string, Partial<MachineReport>, number][] = [
    ['an up-to-date machine', { current: SYS, system: SYS }, 0],
    ['a machine whose host does not exist', { verdict: 'create' }, CheckBit.missing],
    ['a machine whose host is stopped', { verdict: 'start' }, CheckBit.down],
    [
      'a machine whose host refuses connections',
      {
        verdict: 'unreachable',
        outcome: 'unreachable',
        error: { reason: Reason.HostUnreachable, message: 'x', reaction: 'retry' },
      },
      CheckBit.unreachable,
    ],
    ['a machine whose host key is refused', { verdict: 'unreachable', outcome: 'failed', error: refused }, 4],
    [
      'a machine refused before it was planned (verdict still up-to-date)',
      { outcome: 'failed', error: refused },
      CheckBit.unreachable,
    ],
    ['a drifted machine', { verdict: 'drifted', outcome: 'planned', current: OLD, system: SYS }, 8],
    ['an outdated machine', { verdict: 'update', outcome: 'planned', current: OLD, system: SYS }, 16],
    [
      'a machine whose provider failed',
      {
        verdict: 'unknown',
        outcome: 'failed',
        error: { reason: Reason.CloudError, message: 'x', reaction: 'retry' },
      },
      CheckBit.error,
    ],
  ];
  for (const [what, m, bits] of cases) {
    it(`gives ${bits} for ${what}`, () => {
      const res = checkResults(report([m]));
      assert.equal(res.exitCode, bits);
      assert.deepEqual(schemaErrors('check', res), []);
    });
  }

  it('ors the bits of several machines', () => {
    const res = checkResults(report([{ verdict: 'create' }, { verdict: 'start' }, { verdict: 'update' }]));
    assert.equal(res.exitCode, 1 | 2 | 16);
  });

  it('adds the error bit for a deployment-level failure even when machines failed too', () => {
    const err = { reason: Reason.EvaluationFailed, message: 'network.nix:3: syntax error' };
    const r = report([{ verdict: 'unreachable', outcome: 'failed', error: refused }], {
      error: { ...err, reaction: 'stall', scope: 'deployment' },
    });
    const res = checkResults(r);
    assert.equal(res.exitCode, 4 | 64);
    assert.deepEqual(res.error, err);
    assert.match(renderCheck(r), /Error \(EvaluationFailed\): network\.nix:3/);
  });

  it('shows a refused host as not reachable, never "in sync"', () => {
    const text = renderCheck(report([{ machine: 'web', outcome: 'failed', error: refused }]));
    assert.match(text, /^web\s+yes\s+yes\s+no\s+unknown\s+-\s+HostKeyMismatch: host key of h changed/m);
  });
});

describe('plan of unreachable machines', () => {
  it('shows each with its reason and counts them', () => {
    const r = report([
      { machine: 'a', verdict: 'unreachable', outcome: 'failed', error: refused },
      { machine: 'b', current: SYS, system: SYS },
    ]);
    r.plan.machines[0]!.note = refused.message;
    assert.match(renderPlan(r), /^ {2}x a\s+none\s+unreachable: host key of h changed/m);
    assert.match(renderPlan(r), /1 unchanged, 1 unreachable\./);
    const out = planOutput(r);
    assert.equal(out.counts.unreachable, 1);
    assert.deepEqual(schemaErrors('plan', out), []);
  });
});
