// deployment.copy as the physical view carries it, resolved against the deployment's recorded buckets.
import assert from 'node:assert/strict';
import { copySetting } from '../../../src/cache/declaration.js';
import { emptyState, type DeploymentState, type MachinePhysical } from '../../../src/core/model.js';

const machine = (copy?: unknown): MachinePhysical => ({
  name: 'web1',
  targetEnv: 'local',
  targetPort: 22,
  targetUser: 'root',
  options: copy === undefined ? {} : { copy },
  keys: [],
});

function withBucket(): DeploymentState {
  const state = emptyState('d');
  state.resources['s3Buckets.cache'] = {
    type: 's3Buckets',
    name: 'cache',
    id: 'my-cache',
    facts: { name: 'my-cache', region: 'eu-west-1', arn: 'arn:aws:s3:::my-cache' },
  };
  return state;
}

const ref = { _ref: 's3Buckets.cache' };

describe('a machine copy setting', () => {
  it('is push when the machine declares nothing, or mode push', () => {
    assert.deepEqual(copySetting(machine(), emptyState('d')), { mode: 'push' });
    assert.deepEqual(copySetting(machine({ mode: 'push' }), emptyState('d')), { mode: 'push' });
  });

  it('names the recorded bucket and its region in mode cache, with a url when given', () => {
    assert.deepEqual(copySetting(machine({ mode: 'cache', bucket: ref }), withBucket()), {
      mode: 'cache',
      cache: { bucket: 'my-cache', region: 'eu-west-1' },
    });
    assert.deepEqual(
      copySetting(machine({ mode: 'cache', bucket: ref, url: 'https://cache.example.org/' }), withBucket()),
      { mode: 'cache', cache: { bucket: 'my-cache', region: 'eu-west-1', url: 'https://cache.example.org' } },
    );
  });

  const refused: [string, unknown, DeploymentState, RegExp][] = [
    ['no bucket', { mode: 'cache' }, withBucket(), /bucket must be a bucket of the deployment/],
    [
      'another kind of resource',
      { mode: 'cache', bucket: { _ref: 'ebsVolumes.v' } },
      withBucket(),
      /s3Buckets/,
    ],
    ['a bucket not made yet', { mode: 'cache', bucket: ref }, emptyState('d'), /does not exist yet/],
    [
      'a url that is not http',
      { mode: 'cache', bucket: ref, url: 'ftp://x' },
      withBucket(),
      /http:\/\/ or https:\/\//,
    ],
    ['an unknown mode', { mode: 'rsync' }, withBucket(), /"push" or "cache"/],
  ];
  for (const [what, copy, state, why] of refused) {
    it(`is an error naming the machine for ${what}`, () => {
      const got = copySetting(machine(copy), state);
      assert.ok(got instanceof Error);
      assert.match(got.message, /^machine web1: deployment\.copy/);
      assert.match(got.message, why);
    });
  }
});
