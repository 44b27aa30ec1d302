// Planning keys: what is written, removed and marked, from declared digests, the host's files and the state.
import assert from 'node:assert/strict';
import type { Action } from '../../../src/plan/actions.js';
import { DONE_PATH, placeKeyActions, planKeys } from '../../../src/keys/plan.js';
import type { KeyObservation } from '../../../src/keys/remote.js';
import type { DesiredKey } from '../../../src/keys/spec.js';

const key = (over: Partial<DesiredKey> = {}): DesiredKey => ({
  destDir: '/run/keys',
  user: 'root',
  group: 'root',
  permissions: '0600',
  uploadAt: 'pre-activation',
  text: 'x',
  ...over,
});
const SHA = 'a'.repeat(64);
const present: KeyObservation = {
  exists: true,
  user: 'root',
  uid: '0',
  group: 'root',
  gid: '0',
  mode: '600',
  sha256: SHA,
};
const done: KeyObservation = { exists: true };

describe('planning keys', () => {
  it('does nothing when every key is in place and done is marked', () => {
    const plan = planKeys({
      machine: 'm',
      desired: { a: { key: key(), sha256: SHA } },
      observed: { '/run/keys/a': present, [DONE_PATH]: done },
      recorded: { a: { destDir: '/run/keys', at: 't' } },
    });
    assert.deepEqual(plan, { actions: [], missing: [] });
  });

  for (const [what, obs] of [
    ['that is missing', { exists: false }],
    ['with other content', { ...present, sha256: 'b'.repeat(64) }],
    ['with another mode', { ...present, mode: '644' }],
    ['with another owner', { ...present, user: 'nobody', uid: '65534' }],
  ] as const) {
    it(`writes a key ${what}, and marks done after it`, () => {
      const plan = planKeys({
        machine: 'm',
        desired: { a: { key: key(), sha256: SHA } },
        observed: { '/run/keys/a': obs, [DONE_PATH]: done },
        recorded: undefined,
      });
      assert.deepEqual(plan.missing, ['a']);
      assert.deepEqual(plan.actions, [
        {
          kind: 'deliver-keys',
          machine: 'm',
          uploadAt: 'pre-activation',
          keys: ['a'],
          remove: [],
          markDone: true,
        },
      ]);
    });
  }

  it('accepts a numeric owner that the host reports by name and id', () => {
    const plan = planKeys({
      machine: 'm',
      desired: { a: { key: key({ user: '0', group: '0' }), sha256: SHA } },
      observed: { '/run/keys/a': present, [DONE_PATH]: done },
      recorded: undefined,
    });
    assert.deepEqual(plan.missing, []);
  });

  it('splits pre- and post-activation keys, with removals and the done marker on the last action', () => {
    const plan = planKeys({
      machine: 'm',
      desired: {
        pre: { key: key(), sha256: SHA },
        post: { key: key({ uploadAt: 'post-activation' }), sha256: SHA },
      },
      observed: {},
      recorded: { old: { destDir: '/var/lib/app', at: 't' }, pre: { destDir: '/run/keys', at: 't' } },
    });
    assert.deepEqual(
      plan.actions.map((a) => [a.uploadAt, a.keys, a.remove, a.markDone]),
      [
        ['pre-activation', ['pre'], [], false],
        ['post-activation', ['post'], ['/var/lib/app/old'], true],
      ],
    );
  });

  it('removes an undeclared key and re-marks a lost done marker without writing anything', () => {
    const plan = planKeys({
      machine: 'm',
      desired: { a: { key: key(), sha256: SHA } },
      observed: { '/run/keys/a': present },
      recorded: { a: { destDir: '/run/keys', at: 't' }, gone: { destDir: '/run/keys', at: 't' } },
    });
    assert.deepEqual(plan.actions, [
      {
        kind: 'deliver-keys',
        machine: 'm',
        uploadAt: 'post-activation',
        keys: [],
        remove: ['/run/keys/gone'],
        markDone: true,
      },
    ]);
  });

  it('places pre-activation keys right before the activation and post-activation ones right after', () => {
    const system: Action[] = [
      { kind: 'copy', machine: 'm', system: '/nix/store/x' },
      { kind: 'activate', machine: 'm', system: '/nix/store/x', mode: 'switch', cause: 'changed' },
    ];
    const plan = planKeys({
      machine: 'm',
      desired: {
        pre: { key: key(), sha256: SHA },
        post: { key: key({ uploadAt: 'post-activation' }), sha256: SHA },
      },
      observed: {},
      recorded: undefined,
    });
    const other = planKeys({
      machine: 'n',
      desired: { k: { key: key(), sha256: SHA } },
      observed: {},
      recorded: undefined,
    });
    const placed = placeKeyActions(system, [...plan.actions, ...other.actions]);
    assert.deepEqual(
      placed.map((a) => `${a.kind}:${a.machine}${a.kind === 'deliver-keys' ? `:${a.uploadAt}` : ''}`),
      [
        'copy:m',
        'deliver-keys:m:pre-activation',
        'activate:m',
        'deliver-keys:m:post-activation',
        'deliver-keys:n:pre-activation',
      ],
    );
  });
});
