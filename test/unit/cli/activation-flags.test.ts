// The deploy flags of magic rollback, as the command line turns them into a request's overrides.
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { activation, overrides } from '../../../src/cli/wiring/options.js';

function parse(...argv: string[]) {
  const c = activation(new Command('deploy'))
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
  c.parse(argv, { from: 'user' });
  return overrides(c.opts());
}

describe('the magic rollback flags of deploy', () => {
  it('override nothing when not given, so the spec and the defaults decide', () => {
    // A deploy asked for by hand always tries a failed rollout again; that is all it overrides here.
    assert.deepEqual(parse(), { retryFailedRollout: true });
  });

  it('turn durations into milliseconds and --no-magic-rollback into magicRollback false', () => {
    const o = parse('--confirm-timeout', '45s', '--activation-timeout', '2m', '--no-magic-rollback');
    assert.deepEqual(o, {
      magicRollback: false,
      confirmTimeoutMs: 45_000,
      activationTimeoutMs: 120_000,
      retryFailedRollout: true,
    });
  });

  it('refuse a confirmation timeout too short to reconnect in, saying the range', () => {
    assert.throws(() => parse('--confirm-timeout', '500ms'), /between 1s and 1h/);
    assert.throws(() => parse('--activation-timeout', 'soon'), /invalid duration "soon"/);
  });
});
