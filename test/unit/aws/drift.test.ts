import assert from 'node:assert/strict';
import type { Instance } from '@aws-sdk/client-ec2';
import { planInstance } from '../../../src/providers/aws/instances/drift.js';
import { parseInstance } from '../../../src/providers/aws/instances/spec.js';
import { ec2Machine } from './machines.js';

const spec = (ec2: Record<string, unknown>) => parseInstance('d', ec2Machine(ec2));

const running: Instance = {
  InstanceId: 'i-1',
  ImageId: 'ami-1',
  InstanceType: 't3.micro',
  Placement: { AvailabilityZone: 'r1a' },
  KeyName: 'kp',
  SecurityGroups: [{ GroupId: 'sg-1', GroupName: 'default' }],
  Tags: [
    { Key: 'Name', Value: 'd [web]' },
    { Key: 'reconix:deployment', Value: 'd' },
  ],
  State: { Name: 'running' },
};
const rec = { region: 'r1', token: 't', instanceId: 'i-1' };
const base = { region: 'r1', ami: 'ami-1', instanceType: 't3.micro', keyPair: 'kp' };
const opts = { allowReboot: false, allowRecreate: false };

describe('instance drift', () => {
  it('finds nothing to do when the instance is as specified (groups match by name)', () => {
    assert.equal(planInstance(spec(base), {}, rec, running, opts).action, 'unchanged');
  });

  it('changes the type in place, but only with --allow-reboot', () => {
    const step = planInstance(spec({ ...base, instanceType: 't3.large' }), {}, rec, running, opts);
    assert.deepEqual([step.action, step.changed.instanceType], ['update', ['t3.micro', 't3.large']]);
    assert.match(step.blocked ?? '', /--allow-reboot/);
    assert.equal(
      planInstance(spec({ ...base, instanceType: 't3.large' }), {}, rec, running, {
        ...opts,
        allowReboot: true,
      }).blocked,
      undefined,
    );
  });

  it('changes groups and tags in place', () => {
    const step = planInstance(
      spec({ ...base, securityGroupIds: ['sg-2'], tags: { team: 'a' } }),
      {},
      rec,
      running,
      opts,
    );
    assert.equal(step.action, 'update');
    assert.deepEqual(Object.keys(step.changed).sort(), ['securityGroups', 'tags']);
  });

  it('replaces for a new image, zone, key pair or region', () => {
    for (const change of [{ ami: 'ami-2' }, { zone: 'r1b' }, { keyPair: 'other' }, { region: 'r2' }]) {
      const step = planInstance(spec({ ...base, ...change }), {}, rec, running, opts);
      assert.equal(step.action, 'replace', JSON.stringify(change));
      assert.ok(step.blocked);
    }
  });
});
