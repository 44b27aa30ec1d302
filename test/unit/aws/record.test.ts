import assert from 'node:assert/strict';
import type { Instance } from '@aws-sdk/client-ec2';
import {
  matchInstance,
  newToken,
  parseInstanceRecord,
  strays,
  tokenBurned,
} from '../../../src/providers/aws/instances/record.js';

const inst = (id: string, token: string, name: string, state = 'running'): Instance => ({
  InstanceId: id,
  ClientToken: token,
  State: { Name: state as never },
  Tags: [{ Key: 'reconix:name', Value: name }],
});

describe('matching instances to machines', () => {
  const list = [
    inst('i-1', 't1', 'web', 'terminated'),
    inst('i-2', 't2', 'web'),
    inst('i-3', 't3', 'db'),
    inst('i-4', 't4', 'web'),
  ];

  it('goes by recorded id, then by token, then by name tag, never to a terminated instance', () => {
    assert.equal(
      matchInstance(list, 'web', { region: 'r', token: 't2', instanceId: 'i-4' })?.InstanceId,
      'i-4',
    );
    assert.equal(matchInstance(list, 'web', { region: 'r', token: 't4' })?.InstanceId, 'i-4');
    assert.equal(
      matchInstance(list, 'web', { region: 'r', token: 't1', instanceId: 'i-1' })?.InstanceId,
      'i-2',
    );
    assert.equal(matchInstance(list, 'db', undefined)?.InstanceId, 'i-3');
    assert.equal(matchInstance(list, 'mail', undefined), undefined);
  });

  it('knows a token as burned once its instance is gone, so it is never sent again', () => {
    assert.equal(tokenBurned(list, { region: 'r', token: 't1' }), true);
    assert.equal(tokenBurned(list, { region: 'r', token: 't2' }), false);
    assert.equal(tokenBurned([inst('i-5', 't5', 'x', 'shutting-down')], { region: 'r', token: 't5' }), true);
  });

  it('finds duplicates tagged for a machine', () => {
    assert.deepEqual(
      strays(list, 'web', 'i-2').map((i) => i.InstanceId),
      ['i-4'],
    );
  });

  it('reads records back, ignoring what is not one', () => {
    assert.equal(parseInstanceRecord({ dir: '/x' }), undefined);
    assert.deepEqual(
      parseInstanceRecord({ region: 'r', token: 't', ready: true, instanceId: 'i-1', junk: 1 }),
      {
        region: 'r',
        token: 't',
        instanceId: 'i-1',
        ready: true,
      },
    );
  });

  it('makes 48-character tokens that differ', () => {
    assert.match(newToken(), /^[0-9a-f]{48}$/);
    assert.notEqual(newToken(), newToken());
  });
});
