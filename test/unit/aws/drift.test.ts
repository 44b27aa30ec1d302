import assert from 'node:assert/strict';
import type { Instance } from '@aws-sdk/client-ec2';
import { instanceEqual, planInstance } from '../../../src/providers/aws/instances/drift.js';
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

  describe('tags compare as maps', () => {
    // EC2 lists tags in an order of its own; the spec's order is its keys' (Name first, then Nix's sorted keys).
    const tagged = (tags: [string, string][]): Instance => ({
      ...running,
      Tags: [...running.Tags!, ...tags.map(([Key, Value]) => ({ Key, Value }))],
    });
    const cases: [string, Record<string, string>, [string, string][], boolean][] = [
      [
        'the same tags listed in another order',
        { app: 'x', role: 'web' },
        [
          ['role', 'web'],
          ['app', 'x'],
        ],
        true,
      ],
      ['the same tags with Name listed last', { app: 'x' }, [['app', 'x']], true],
      ['a changed value', { app: 'x' }, [['app', 'y']], false],
      ['a missing tag', { app: 'x', role: 'web' }, [['app', 'x']], false],
      [
        'an extra tag',
        { app: 'x' },
        [
          ['app', 'x'],
          ['role', 'web'],
        ],
        false,
      ],
    ];
    for (const [what, want, have, same] of cases) {
      it(`${same ? 'finds nothing to do' : 'updates the tags'} for ${what}`, () => {
        const inst = tagged(have);
        // Name (from the running fixture) is moved to the end, after the user's tags
        inst.Tags = [...inst.Tags!.filter((t) => t.Key !== 'Name'), { Key: 'Name', Value: 'd [web]' }];
        const step = planInstance(spec({ ...base, tags: want }), {}, rec, inst, opts);
        assert.equal(step.action, same ? 'unchanged' : 'update', JSON.stringify(step.changed));
        assert.deepEqual(Object.keys(step.changed), same ? [] : ['tags']);
      });
    }

    it('compares tags by their entries in instanceEqual too', () => {
      assert.equal(instanceEqual('tags', { a: '1', b: '2' }, { b: '2', a: '1' }), true);
      assert.equal(instanceEqual('tags', { a: '1' }, { a: '1', b: '2' }), false);
    });
  });

  it('replaces for a new image, zone, key pair or region', () => {
    for (const change of [{ ami: 'ami-2' }, { zone: 'r1b' }, { keyPair: 'other' }, { region: 'r2' }]) {
      const step = planInstance(spec({ ...base, ...change }), {}, rec, running, opts);
      assert.equal(step.action, 'replace', JSON.stringify(change));
      assert.ok(step.blocked);
    }
  });
});
