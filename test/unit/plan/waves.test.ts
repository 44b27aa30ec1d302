import assert from 'node:assert/strict';
import type { RolloutStrategy } from '../../../src/api/rollout.js';
import { selectMachines } from '../../../src/plan/plan.js';
import {
  assignWaves,
  checksFor,
  isGated,
  rolloutRevision,
  type WaveMachine,
} from '../../../src/plan/waves.js';

const fleet = (n: number, tags: (i: number) => string[] = () => []): WaveMachine[] =>
  Array.from({ length: n }, (_, i) => ({ name: `m${i + 1}`, tags: tags(i + 1) }));
const shape = (machines: WaveMachine[], s?: RolloutStrategy) =>
  assignWaves(machines, s).map((w) => w.machines);

describe('rollout wave assignment', () => {
  const cases: {
    name: string;
    n: number;
    strategy?: RolloutStrategy;
    tags?: (i: number) => string[];
    want: string[][];
  }[] = [
    { name: 'puts every machine in one wave without a strategy', n: 3, want: [['m1', 'm2', 'm3']] },
    {
      name: 'takes counts in order and leaves the rest to a last wave',
      n: 9,
      strategy: { waves: [{ count: 3 }, { count: 3 }] },
      want: [
        ['m1', 'm2', 'm3'],
        ['m4', 'm5', 'm6'],
        ['m7', 'm8', 'm9'],
      ],
    },
    {
      name: 'rounds percents of the whole fleet up',
      n: 10,
      strategy: { waves: [{ percent: 15 }, { percent: 50 }] },
      want: [
        ['m1', 'm2'],
        ['m3', 'm4', 'm5', 'm6', 'm7'],
        ['m8', 'm9', 'm10'],
      ],
    },
    {
      name: 'starts with a canary wave',
      n: 4,
      strategy: { canary: 1, waves: [{ count: 2 }] },
      want: [['m1'], ['m2', 'm3'], ['m4']],
    },
    {
      name: 'selects by name glob and by tags, leaving the others to later waves',
      n: 5,
      tags: (i) => (i % 2 === 0 ? ['web'] : ['db']),
      strategy: {
        waves: [
          { selector: { tags: ['web'] } },
          { selector: { names: 'm[5]' } },
          { selector: { names: 'm5' } },
        ],
      },
      want: [['m2', 'm4'], ['m5'], ['m1', 'm3']],
    },
    {
      name: 'drops waves that select nothing',
      n: 2,
      strategy: { waves: [{ selector: { tags: ['none'] } }, { count: 1 }] },
      want: [['m1'], ['m2']],
    },
    {
      name: 'cuts the fleet by maxUnavailable when no waves are listed',
      n: 5,
      strategy: { maxUnavailable: 2 },
      want: [['m1', 'm2'], ['m3', 'm4'], ['m5']],
    },
    { name: 'has no wave for an empty fleet', n: 0, strategy: { canary: 1 }, want: [] },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(shape(fleet(c.n, c.tags), c.strategy), c.want));

  it('orders machine names naturally, so m10 comes after m9', () => {
    assert.deepEqual(shape(fleet(10), { waves: [{ count: 9 }] })[1], ['m10']);
  });

  it("gives each wave its own bake time and pause, or the strategy's bake time", () => {
    const waves = assignWaves(fleet(3), {
      bakeTime: '2s',
      waves: [
        { count: 1, pause: true },
        { count: 1, bakeTime: '500ms' },
      ],
    });
    assert.deepEqual(
      waves.map((w) => [w.index, w.bakeMs, w.pause]),
      [
        [1, 2000, true],
        [2, 500, false],
        [3, 2000, false],
      ],
    );
  });

  it('gates only deployments with waves or health checks', () => {
    assert.equal(isGated(undefined, { a: [] }), false);
    assert.equal(isGated({ canary: 1 }, { a: [] }), true);
    assert.equal(isGated(undefined, { a: [{ cmd: 'true' }] }), true);
  });

  it("replaces a machine's declared checks with the deployment's that select it, and adds systemd on NixOS", () => {
    const declared = [{ cmd: 'true' }];
    assert.deepEqual(
      checksFor('web1', declared, [{ machines: 'db*', checks: [{ cmd: 'x' }] }], false),
      declared,
    );
    assert.deepEqual(checksFor('db1', declared, [{ machines: 'db*', checks: [{ cmd: 'x' }] }], false), [
      { cmd: 'x' },
    ]);
    assert.deepEqual(checksFor('web1', declared, undefined, true), [{ cmd: 'true' }, { systemd: true }]);
  });

  it('changes the revision when a system, a check or the waves change, and only then', () => {
    const waves = assignWaves(fleet(2));
    const base = rolloutRevision({ m1: '/a', m2: '/b' }, { m1: [] }, waves);
    assert.equal(rolloutRevision({ m2: '/b', m1: '/a' }, { m1: [] }, waves), base);
    assert.notEqual(rolloutRevision({ m1: '/a', m2: '/c' }, { m1: [] }, waves), base);
    assert.notEqual(rolloutRevision({ m1: '/a', m2: '/b' }, { m1: [{ cmd: 'true' }] }, waves), base);
    assert.notEqual(
      rolloutRevision({ m1: '/a', m2: '/b' }, { m1: [] }, assignWaves(fleet(2), { canary: 1 })),
      base,
    );
  });
});

describe('machine selection by tag', () => {
  const tags: Record<string, string[]> = { web1: ['web'], web2: ['web', 'eu'], db1: ['db'] };
  const names = Object.keys(tags);
  it('includes the machines with an @tag and excludes others by @tag or name', () => {
    assert.deepEqual(
      selectMachines(names, ['@web'], undefined, (n) => tags[n] ?? []),
      ['web1', 'web2'],
    );
    assert.deepEqual(
      selectMachines(names, undefined, ['@eu', 'db*'], (n) => tags[n] ?? []),
      ['web1'],
    );
    assert.deepEqual(
      selectMachines(names, ['@nothing'], undefined, (n) => tags[n] ?? []),
      [],
    );
  });
});
