import assert from 'node:assert/strict';
import type { Action, MachineVerdict } from '../../../src/plan/actions.js';
import type { ReconcileRequest } from '../../../src/core/request.js';
import {
  buildsWithoutHost,
  isPlanned,
  machineVerdict,
  provisions,
  reach,
  stageActions,
  type PlannedInput,
} from '../../../src/plan/stages.js';
import { mergePlans } from '../../../src/plan/plan.js';

type Stage = ReconcileRequest['stopAfter'];
const S = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-a';

describe('the decisions between the stages of a reconcile', () => {
  describe('which runs provision (create machines and cloud resources)', () => {
    const cases: [Pick<ReconcileRequest, 'op' | 'mode' | 'stopAfter'>, boolean][] = [
      [{ op: 'deploy', mode: 'switch' }, true],
      [{ op: 'deploy', mode: 'switch', stopAfter: 'create' }, true],
      [{ op: 'deploy', mode: 'switch', stopAfter: 'copy' }, true],
      [{ op: 'deploy', mode: 'switch', stopAfter: 'build' }, false],
      [{ op: 'deploy', mode: 'dry-activate' }, false],
      [{ op: 'deploy', mode: 'boot' }, true],
      [{ op: 'plan', mode: 'switch' }, false],
      [{ op: 'check', mode: 'switch' }, false],
    ];
    for (const [req, want] of cases) {
      it(`${req.op} --mode ${req.mode}${req.stopAfter ? ` stopping after ${req.stopAfter}` : ''}: ${want ? 'provisions' : 'creates nothing'}`, () => {
        assert.equal(provisions(req), want);
      });
    }
  });

  describe('which machines are connected to and which are evaluated', () => {
    // a: up; b: up but failed before; c: not running; d: up
    const selected = ['a', 'b', 'c', 'd'];
    const up = (n: string) => n !== 'c';
    const failed = new Set(['b']);
    const cases: [Stage, string[], string[]][] = [
      [undefined, ['a', 'd'], ['a', 'd']],
      ['copy', ['a', 'd'], ['a', 'd']],
      ['create', [], []],
      ['build', ['a', 'd'], ['a', 'c', 'd']],
    ];
    for (const [stopAfter, connect, evaluate] of cases) {
      it(`${stopAfter ? `stopping after ${stopAfter}` : 'a full deploy'}: connects ${connect.join(',') || 'none'}, evaluates ${evaluate.join(',') || 'none'}`, () => {
        assert.deepEqual(reach({ selected, up, failed, ...(stopAfter ? { stopAfter } : {}) }), {
          connect,
          evaluate,
        });
      });
    }
  });

  describe('which actions a deploy stopped after a stage keeps', () => {
    const all: Action[] = [
      { kind: 'build', machine: 'a', drvPath: `${S}.drv`, outPath: S },
      { kind: 'copy', machine: 'a', system: S },
      { kind: 'activate', machine: 'a', system: S, mode: 'switch', cause: 'new' },
      { kind: 'report-drift', machine: 'b', expected: S, actual: 'x' },
    ];
    const cases: [Stage, string[]][] = [
      [undefined, ['build', 'copy', 'activate', 'report-drift']],
      ['create', []],
      ['build', ['build']],
      ['copy', ['build', 'copy']],
    ];
    for (const [stopAfter, kinds] of cases) {
      it(`${stopAfter ?? 'no stage'}: ${kinds.join(', ') || 'nothing'}`, () => {
        assert.deepEqual(
          stageActions(stopAfter, all).map((a) => a.kind),
          kinds,
        );
      });
    }
  });

  describe('--build-only also builds the machines without a host', () => {
    const desired = {
      a: { drvPath: 'a.drv', outPath: '/nix/store/a' },
      b: { drvPath: 'b.drv', outPath: '/nix/store/b' },
      c: { drvPath: 'c.drv', outPath: '/nix/store/c' },
    };
    const cases: [string, Stage, string[]][] = [
      ['under --build-only, the unconnected machines whose system is not built here', 'build', ['c']],
      ['otherwise none (the system plan builds for the hosts it sees)', undefined, []],
      ['not under --copy-only either', 'copy', []],
    ];
    for (const [what, stopAfter, machines] of cases) {
      it(what, () => {
        const builds = buildsWithoutHost(stopAfter, desired, new Set(['a']), new Set(['/nix/store/b']));
        assert.deepEqual(
          builds.map((b) => b.machine),
          machines,
        );
        for (const b of builds) assert.equal(b.kind, 'build');
      });
    }
  });

  describe("a machine's verdict from the target and system plans", () => {
    const cases: [MachineVerdict | undefined, MachineVerdict | undefined, MachineVerdict][] = [
      ['create', 'update', 'create'],
      ['start', 'up-to-date', 'start'],
      ['up-to-date', 'update', 'update'],
      ['up-to-date', 'drifted', 'drifted'],
      ['up-to-date', undefined, 'up-to-date'],
      ['unreachable', undefined, 'unreachable'],
      [undefined, undefined, 'unknown'],
    ];
    for (const [target, system, want] of cases) {
      it(`target ${target ?? '-'} and system ${system ?? '-'}: ${want}`, () => {
        assert.equal(machineVerdict(target, system), want);
      });
    }
    it("in the displayed plan, a created machine's verdict stays create only over an update", () => {
      const plan = mergePlans(
        { machines: [{ machine: 'a', env: 'local', verdict: 'create' }], actions: [] },
        { machines: [{ machine: 'a', env: 'local', verdict: 'update' }], actions: [] },
      );
      assert.equal(plan.machines[0]!.verdict, 'create');
    });
  });

  describe('which outcomes become planned', () => {
    const base: PlannedInput = {
      op: 'deploy',
      stopped: false,
      verdict: 'update',
      activates: true,
      settled: false,
    };
    const cases: [string, Partial<PlannedInput>, boolean][] = [
      ['a full deploy leaves nothing planned', {}, false],
      ['a stopped deploy leaves an activation planned', { stopped: true }, true],
      [
        'a stopped deploy leaves a create planned',
        { stopped: true, verdict: 'create', activates: false },
        true,
      ],
      [
        'a stopped deploy leaves a start planned',
        { stopped: true, verdict: 'start', activates: false },
        true,
      ],
      [
        'a stopped deploy leaves an up-to-date machine alone',
        { stopped: true, verdict: 'up-to-date', activates: false },
        false,
      ],
      ['a machine that failed or got an outcome stays so', { stopped: true, settled: true }, false],
      ['a plan marks an update planned', { op: 'plan', activates: false }, true],
      ['a check marks a drift planned', { op: 'check', verdict: 'drifted', activates: false }, true],
      ['a plan does not mark a create planned', { op: 'plan', verdict: 'create', activates: false }, false],
    ];
    for (const [what, over, want] of cases) {
      it(what, () => {
        assert.equal(isPlanned({ ...base, ...over }), want);
      });
    }
  });
});
