// The summary of a failed run stays short whatever the fleet's size, and each machine's error is printed once.
import assert from 'node:assert/strict';
import { Reason } from '../../../src/api/conditions.js';
import { renderDeploy, renderResults } from '../../../src/cli/render.js';
import type { MachineResult } from '../../../src/apply/operations.js';
import { summariseFailures, type MachineReport, type ReconcileReport } from '../../../src/report/report.js';

const unreachable = (n: number) =>
  `connecting to root@127.77.${n >> 8}.${n & 255}:22 failed: connect ECONNREFUSED (is its sshd running?) #${n}`;

/** 1,000 machines: m1..m998 unreachable, b1 and b2 failing to build. */
function fleet(): MachineReport[] {
  const down = Array.from({ length: 998 }, (_, i): MachineReport => ({
    machine: `m${i + 1}`,
    env: 'none',
    verdict: 'unreachable',
    outcome: 'unreachable',
    error: { reason: Reason.HostUnreachable, message: unreachable(i + 1), reaction: 'retry' },
  }));
  const broken = ['b2', 'b1'].map((machine): MachineReport => ({
    machine,
    env: 'local',
    verdict: 'update',
    outcome: 'failed',
    error: {
      reason: Reason.BuildFailed,
      message: `builder for ${machine}.drv failed with exit code 1`,
      reaction: 'retry',
    },
  }));
  return [...broken, ...down];
}

function report(machines: MachineReport[]): ReconcileReport {
  return {
    deployment: 'big',
    op: 'deploy',
    ok: false,
    reason: Reason.PartialFailure,
    message: summariseFailures(machines, machines.length),
    plan: { machines: [], actions: [] },
    machines: Object.fromEntries(machines.map((m) => [m.machine, m])),
    startedAt: new Date(0).toISOString(),
    durationMs: 1234,
  };
}

const occurrences = (text: string, part: string) => text.split(part).length - 1;

describe('the summary of failed machines', () => {
  it('groups by reason, most machines first, naming the first three in natural order and counting the rest', () => {
    assert.equal(
      summariseFailures(fleet(), 1000),
      '1000 of 1000 machines failed: HostUnreachable (998): m1, m2, m3 and 995 more; BuildFailed (2): b1, b2',
    );
  });

  it('names every machine when there are few, and says how many of how many failed', () => {
    const one = [{ machine: 'web', error: { reason: Reason.ActivationFailed, message: 'exit 1' } }];
    assert.equal(summariseFailures(one, 3), '1 of 3 machines failed: ActivationFailed (1): web');
  });

  it('holds no machine error text', () => {
    const text = summariseFailures(fleet(), 1000);
    assert.ok(!text.includes('ECONNREFUSED') && !text.includes('exit code'), text);
  });
});

describe('rendering a deploy in which 1,000 machines failed', () => {
  const machines = fleet();
  const out = renderDeploy(report(machines));
  const lines = out.split('\n');

  it("prints each machine's whole error exactly once, on its own line", () => {
    for (const m of machines) assert.equal(occurrences(out, m.error!.message), 1, m.machine);
    assert.equal(lines.filter((l) => l.includes('FAILED (')).length, 1000);
  });

  it('ends with a bounded summary line', () => {
    const last = lines[lines.length - 1]!;
    assert.match(
      last,
      /^Failed \(PartialFailure\) after 1\.2s: 1000 of 1000 machines failed: HostUnreachable \(998\)/,
    );
    assert.ok(last.length < 200, `${last.length} characters`);
  });

  it('is no longer than the per-machine lines plus a few lines', () => {
    const perMachine = lines.filter((l) => l.includes('FAILED (')).join('\n').length;
    assert.ok(out.length < perMachine + 400, `${out.length} vs ${perMachine}`);
    assert.ok(Math.max(...lines.map((l) => l.length)) < 200);
  });
});

describe('rendering per-machine results (stop, start, reboot, destroy)', () => {
  it('prints each failure once, then the bounded summary', () => {
    const results: MachineResult<string>[] = [
      ...fleet().map((m) => ({ machine: m.machine, ok: false, error: m.error! })),
      { machine: 'ok1', ok: true, value: 'ec2' },
    ];
    const out = renderResults('rebooted', results, (env) => `(${env})`);
    for (const r of results.filter((x) => !x.ok)) assert.equal(occurrences(out, r.error!.message), 1);
    assert.match(out, /\nok1: rebooted \(ec2\)\n/);
    assert.equal(
      out.split('\n').pop(),
      '1000 of 1001 machines failed: HostUnreachable (998): m1, m2, m3 and 995 more; BuildFailed (2): b1, b2',
    );
  });

  it('adds no summary when every machine succeeded', () => {
    assert.equal(
      renderResults('stopped', [{ machine: 'a', ok: true, value: 'local' }], (e) => `(${e})`),
      'a: stopped (local)',
    );
  });
});
