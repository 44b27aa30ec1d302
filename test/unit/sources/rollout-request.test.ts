// The activation's safety settings as a request carries them: the spec's, with command-line overrides on top.
import assert from 'node:assert/strict';
import type { NixDeploymentSpec } from '../../../src/api/deployment.js';
import { requestFor, type RequestOverrides } from '../../../src/source/deployments.js';

const source = { deployment: 'web', files: ['/n/web.nix'], args: {}, builder: 'mini' as const };

function settings(rollout: NixDeploymentSpec['rollout'], o: RequestOverrides = {}) {
  const spec: NixDeploymentSpec = { network: { files: ['web.nix'] }, ...(rollout ? { rollout } : {}) };
  const r = requestFor('web', spec, source, 'deploy', o);
  return { magicRollback: r.magicRollback, confirm: r.confirmTimeoutMs, limit: r.activationTimeoutMs };
}

describe('magic rollback settings of a request', () => {
  it('leaves them out when neither the spec nor the command line sets them, so the defaults apply', () => {
    assert.deepEqual(settings(undefined), { magicRollback: undefined, confirm: undefined, limit: undefined });
  });

  it('takes the spec durations in milliseconds', () => {
    const got = settings({ magicRollback: false, confirmTimeout: '45s', activationTimeout: '1m30s' });
    assert.deepEqual(got, { magicRollback: false, confirm: 45_000, limit: 90_000 });
  });

  it('lets the command line override the spec', () => {
    const got = settings(
      { magicRollback: true, confirmTimeout: '45s' },
      { magicRollback: false, confirmTimeoutMs: 5000, activationTimeoutMs: 60_000 },
    );
    assert.deepEqual(got, { magicRollback: false, confirm: 5000, limit: 60_000 });
  });
});
