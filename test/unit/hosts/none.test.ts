import assert from 'node:assert/strict';
import type { MachinePhysical } from '../../../src/core/model.js';
import { NoneTargetProvider, targetHostOf } from '../../../src/providers/none.js';

const machine = (over: Partial<MachinePhysical>): MachinePhysical => ({
  name: 'web',
  targetEnv: 'none',
  targetPort: 2222,
  targetUser: 'deploy',
  options: {},
  keys: [],
  ...over,
});

describe('the none target', function () {
  const none = new NoneTargetProvider();

  it('reaches a machine at its targetHost, port and user, with an IPv4 literal as its private address', function () {
    assert.deepEqual(none.describe(machine({ targetHost: '10.0.0.7' }), undefined), {
      exists: true,
      running: true,
      endpoint: { host: '10.0.0.7', port: 2222, user: 'deploy' },
      facts: { privateIPv4: '10.0.0.7' },
    });
  });

  it('has no address fact for a host name, and passes a declared host key on', function () {
    const obs = none.describe(
      machine({ targetHost: 'web.example.org', hostPublicKey: 'ssh-ed25519 AAAA' }),
      {},
    );
    assert.deepEqual(obs.facts, { hostPublicKey: 'ssh-ed25519 AAAA' });
    assert.equal(obs.endpoint?.host, 'web.example.org');
  });

  it('falls back to the machine name, as NixOps does, only when that is a host name', function () {
    assert.equal(targetHostOf(machine({})), 'web');
    assert.equal(targetHostOf(machine({ name: 'a;touch /tmp/x' })), undefined);
    assert.equal(none.describe(machine({ name: 'a b' }), undefined).exists, false);
  });

  it('observes every machine without touching the network', async function () {
    const obs = await none.observe(
      'd',
      [machine({ targetHost: '::1' }), machine({ name: 'x', targetHost: 'x' })],
      {},
    );
    assert.deepEqual(Object.keys(obs), ['web', 'x']);
    assert.equal(obs.web?.facts.privateIPv4, undefined);
  });
});
