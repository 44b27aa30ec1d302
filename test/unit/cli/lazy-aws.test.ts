import assert from 'node:assert/strict';
import { emptyState, type PhysicalView } from '../../../src/core/model.js';
import { lazyAws, needsAws } from '../../../src/cli/lazy-aws.js';
import { silentLogger } from '../../../src/util/log.js';

const machine = (targetEnv: string) => ({
  name: 'm',
  targetEnv,
  targetPort: 22,
  targetUser: 'root',
  options: {},
  keys: [],
});
const view = (env: string, resources: PhysicalView['resources'] = {}): PhysicalView => ({
  description: '',
  machines: { m: machine(env) },
  resources,
});

describe('loading AWS only when a deployment needs it', () => {
  const cases: [string, PhysicalView, boolean][] = [
    ['local machines only', view('local'), false],
    ['an ec2 machine', view('ec2'), true],
    ['a resource', view('none', { s3Buckets: { b: {} } }), true],
  ];
  for (const [name, physical, want] of cases) {
    it(`${want ? 'needs' : 'does not need'} AWS for ${name}`, () => {
      assert.equal(needsAws(physical, emptyState('d')), want);
    });
  }

  it('needs AWS to tear down what state still records', () => {
    const state = emptyState('d');
    state.resources['ec2KeyPairs.kp'] = { type: 'ec2KeyPairs', name: 'kp', facts: {} };
    assert.equal(needsAws(view('local'), state), true);
  });

  it('plans no cloud changes, without loading the SDK, for a deployment without AWS', async () => {
    // An endpoint without credentials would fail as soon as the SDK is set up: it must not be.
    const bundle = lazyAws('/nonexistent', { endpoint: 'http://127.0.0.1:1' });
    const ctx = {
      deployment: 'd',
      physical: view('local'),
      state: emptyState('d'),
      save: async () => undefined,
      log: silentLogger,
    };
    await bundle.prepare(ctx.physical, ctx.state);
    assert.deepEqual(await bundle.resources.reconcile(ctx, true), { changes: [], facts: {} });
  });
});
