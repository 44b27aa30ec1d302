import assert from 'node:assert/strict';
import {
  emptyState,
  type DeploymentState,
  type HostObservation,
  type PhysicalView,
} from '../../../src/core/model.js';
import type { Action } from '../../../src/plan/actions.js';
import {
  planSystems,
  planTargets,
  selectMachines,
  targetSystem,
  type HostView,
} from '../../../src/plan/plan.js';

const A = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-a';
const B = '/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-nixos-system-a';
const drv = (out: string) => out.replace('nixos-system', 'drv') + '.drv';

function host(current?: string, profile = current): HostView {
  const observation: HostObservation = {
    generations: [],
    ...(current ? { currentSystem: current } : {}),
    ...(profile ? { profileSystem: profile } : {}),
  };
  return { ok: true, observation };
}

function recorded(activated?: string, hold?: { system: string; whileDesired: string }): DeploymentState {
  const s = emptyState('d');
  s.machines.m = {
    targetEnv: 'local',
    ...(activated ? { activated: { system: activated, mode: 'switch', at: 't' } } : {}),
    ...(hold ? { hold: { ...hold, generation: 1 } } : {}),
  };
  return s;
}

const kinds = (actions: Action[]) =>
  actions.map((a) => (a.kind === 'activate' ? `activate:${a.cause}` : a.kind));

describe('planSystems', () => {
  const cases: {
    name: string;
    desired: string;
    host: HostView;
    state: DeploymentState;
    built?: boolean;
    policy?: 'Correct' | 'Report';
    mode?: 'switch' | 'boot';
    expect: string[];
    verdict: string;
  }[] = [
    {
      name: 'a new host gets built, copied and activated',
      desired: A,
      host: host(),
      state: recorded(),
      expect: ['build', 'copy', 'activate:new'],
      verdict: 'update',
    },
    {
      name: 'a host already running the desired system is left alone',
      desired: A,
      host: host(A),
      state: recorded(A),
      built: true,
      expect: [],
      verdict: 'up-to-date',
    },
    {
      name: 'a changed system is activated without a build when it is already built',
      desired: B,
      host: host(A),
      state: recorded(A),
      built: true,
      expect: ['copy', 'activate:changed'],
      verdict: 'update',
    },
    {
      name: 'drift is corrected under Correct',
      desired: A,
      host: host(B),
      state: recorded(A),
      built: true,
      expect: ['copy', 'activate:drift'],
      verdict: 'drifted',
    },
    {
      name: 'drift is only reported under Report',
      desired: A,
      host: host(B),
      state: recorded(A),
      built: true,
      policy: 'Report',
      expect: ['report-drift'],
      verdict: 'drifted',
    },
    {
      name: 'an unreachable host gets no actions',
      desired: A,
      host: { ok: false, error: 'down' },
      state: recorded(A),
      expect: [],
      verdict: 'unreachable',
    },
    {
      name: 'a rollback hold keeps the old system while the spec is unchanged',
      desired: A,
      host: host(B),
      state: recorded(B, { system: B, whileDesired: A }),
      built: true,
      expect: [],
      verdict: 'held',
    },
    {
      name: 'a rollback hold is released when the spec changes',
      desired: A,
      host: host(B),
      state: recorded(B, { system: B, whileDesired: '/nix/store/cccccccccccccccccccccccccccccccc-x' }),
      built: true,
      expect: ['copy', 'activate:rollback-released'],
      verdict: 'update',
    },
    {
      name: 'boot mode is judged by the profile, not the running system',
      desired: A,
      host: host(B, A),
      state: recorded(A),
      built: true,
      mode: 'boot',
      expect: [],
      verdict: 'up-to-date',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      // GIVEN one machine, WHEN planned, THEN the actions and verdict match
      const plan = planSystems({
        env: { m: 'local' },
        desired: { m: { drvPath: drv(c.desired), outPath: c.desired } },
        hosts: { m: c.host },
        recorded: c.state,
        builtLocally: new Set(c.built ? [c.desired] : []),
        driftPolicy: c.policy ?? 'Correct',
        mode: c.mode ?? 'switch',
      });
      assert.deepEqual(kinds(plan.actions), c.expect);
      assert.equal(plan.machines[0]?.verdict, c.verdict);
    });
  }

  it('plans a held machine back to the spec when the host runs neither', () => {
    const plan = planSystems({
      env: { m: 'local' },
      desired: { m: { drvPath: drv(A), outPath: A } },
      hosts: { m: host('/nix/store/dddddddddddddddddddddddddddddddd-other') },
      recorded: recorded(B, { system: B, whileDesired: A }),
      builtLocally: new Set([A]),
      driftPolicy: 'Correct',
      mode: 'switch',
    });
    const act = plan.actions.find((a) => a.kind === 'activate');
    assert.equal(act?.kind === 'activate' && act.system, B);
  });
});

describe('planTargets', () => {
  const physical: PhysicalView = {
    description: '',
    resources: {},
    machines: {
      web: { name: 'web', targetEnv: 'local', targetPort: 22, targetUser: 'root', options: {}, keys: [] },
      db: {
        name: 'db',
        targetEnv: 'none',
        targetHost: '127.0.0.9',
        targetPort: 22,
        targetUser: 'root',
        options: {},
        keys: [],
      },
    },
  };
  const creates = (env: string) => env === 'local';

  it('creates a missing target of a kind Reconix creates, and reports a missing existing host', () => {
    const plan = planTargets({
      physical,
      selected: ['db', 'web'],
      observed: {
        web: { exists: false, running: false, facts: {} },
        db: { exists: false, running: false, facts: {}, detail: 'no route' },
      },
      recorded: emptyState('d'),
      creates,
      killObsolete: false,
    });
    assert.deepEqual(plan.actions, [{ kind: 'create-target', machine: 'web', env: 'local' }]);
    assert.equal(plan.machines.find((m) => m.machine === 'db')?.verdict, 'unreachable');
  });

  it('starts a stopped target', () => {
    const plan = planTargets({
      physical,
      selected: ['web'],
      observed: { web: { exists: true, running: false, facts: {}, detail: 'sshd is not running' } },
      recorded: emptyState('d'),
      creates,
      killObsolete: false,
    });
    assert.equal(plan.actions[0]?.kind, 'start-target');
  });

  it('destroys a machine that left the spec only with killObsolete', () => {
    const state = emptyState('d');
    state.machines.old = { targetEnv: 'local', target: { dir: '/x' } };
    const input = { physical, selected: [], observed: {}, recorded: state, creates };
    assert.deepEqual(planTargets({ ...input, killObsolete: false }).actions, []);
    assert.deepEqual(planTargets({ ...input, killObsolete: true }).actions, [
      { kind: 'destroy-target', machine: 'old', env: 'local' },
    ]);
  });
});

describe('selectMachines', () => {
  const names = ['web-1', 'web-2', 'db', 'proxy'];
  const cases: [string[] | undefined, string[] | undefined, string[]][] = [
    [undefined, undefined, ['db', 'proxy', 'web-1', 'web-2']],
    [['web-*'], undefined, ['web-1', 'web-2']],
    [undefined, ['web-?'], ['db', 'proxy']],
    [['*'], ['db'], ['proxy', 'web-1', 'web-2']],
  ];
  for (const [inc, exc, want] of cases) {
    it(`selects ${want.join(',')} for include ${String(inc)} exclude ${String(exc)}`, () => {
      assert.deepEqual(selectMachines(names, inc, exc), want);
    });
  }
});

describe('targetSystem', () => {
  it('ignores a hold made for another spec', () => {
    assert.deepEqual(targetSystem({ drvPath: '', outPath: A }, { system: B, whileDesired: 'x' }), {
      system: A,
      held: false,
    });
  });
});
