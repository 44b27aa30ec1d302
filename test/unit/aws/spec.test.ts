import assert from 'node:assert/strict';
import { Reason } from '../../../src/api/conditions.js';
import { ReconixError } from '../../../src/core/errors.js';
import { checkReferences, parseInstance } from '../../../src/providers/aws/instances/spec.js';
import { parseResources } from '../../../src/providers/aws/spec.js';
import { ec2Machine } from './machines.js';

const invalid = (pattern: RegExp) => (err: unknown) => {
  assert.ok(err instanceof ReconixError, String(err));
  assert.equal(err.reason, Reason.InvalidManifest);
  assert.equal(err.reaction, 'stall');
  assert.match(err.message, pattern);
  return true;
};

describe('AWS specs from the physical view', () => {
  it('gives resources NixOps-like defaults: names from the deployment, groups with a description', () => {
    const specs = parseResources('prod', {
      ec2KeyPairs: { kp: { region: 'eu-west-1' } },
      ec2SecurityGroups: { web: { region: 'eu-west-1', rules: [{ fromPort: 80, sourceIp: '0.0.0.0/0' }] } },
      s3Buckets: { Logs_1: { region: 'eu-west-1' } },
      route53Zones: { ignored: { anything: true } },
    });
    assert.deepEqual(Object.keys(specs), ['ec2KeyPairs.kp', 'ec2SecurityGroups.web', 's3Buckets.Logs_1']);
    assert.equal(
      specs['ec2KeyPairs.kp']?.type === 'ec2KeyPairs' && specs['ec2KeyPairs.kp'].keyName,
      'reconix-prod-kp',
    );
    const sg = specs['ec2SecurityGroups.web'];
    assert.ok(sg?.type === 'ec2SecurityGroups');
    assert.equal(sg.description, 'Reconix-provisioned group web');
    assert.deepEqual(sg.rules, [{ protocol: 'tcp', fromPort: 80, toPort: 80, sourceIp: '0.0.0.0/0' }]);
    const b = specs['s3Buckets.Logs_1'];
    assert.ok(b?.type === 's3Buckets');
    assert.deepEqual(
      [b.bucketName, b.versioning, b.persistOnDestroy],
      ['reconix-prod-logs-1', 'Suspended', false],
    );
  });

  it('reads a rule naming another group by reference, and records the dependency', () => {
    const specs = parseResources('d', {
      ec2SecurityGroups: {
        a: {
          region: 'r',
          rules: [
            { fromPort: 22, sourceGroup: { groupName: { _ref: 'ec2SecurityGroups.b' }, ownerId: '1' } },
          ],
        },
        b: { region: 'r' },
      },
    });
    const a = specs['ec2SecurityGroups.a'];
    assert.ok(a?.type === 'ec2SecurityGroups');
    assert.deepEqual(a.rules[0]?.sourceGroup, { _ref: 'ec2SecurityGroups.b' });
    assert.deepEqual(a.deps, ['ec2SecurityGroups.b']);
  });

  for (const [what, resources, pattern] of [
    [
      'a rule with two sources',
      {
        ec2SecurityGroups: {
          a: { region: 'r', rules: [{ fromPort: 1, sourceIp: '0.0.0.0/0', sourceGroup: 'sg-1' }] },
        },
      },
      /exactly one of sourceIp/,
    ],
    [
      'a rule without a port',
      { ec2SecurityGroups: { a: { region: 'r', rules: [{ sourceIp: '0.0.0.0/0' }] } } },
      /fromPort is required/,
    ],
    ['a missing region', { ec2KeyPairs: { kp: {} } }, /ec2KeyPairs\.kp: region is required/],
    [
      'a reference to nothing',
      {
        ec2SecurityGroups: {
          a: { region: 'r', rules: [{ fromPort: 1, sourceGroup: { _ref: 'ec2SecurityGroups.zz' } }] },
        },
      },
      /refers to ec2SecurityGroups\.zz, which is not defined/,
    ],
    [
      'a reference across regions',
      {
        ec2SecurityGroups: {
          a: { region: 'r1', rules: [{ fromPort: 1, sourceGroup: { _ref: 'ec2SecurityGroups.b' } }] },
          b: { region: 'r2' },
        },
      },
      /is in r1 but refers to ec2SecurityGroups\.b in r2/,
    ],
    [
      'a bad bucket name',
      { s3Buckets: { b: { region: 'r', name: 'Not_Valid' } } },
      /not a valid bucket name/,
    ],
    [
      'a policy that is not JSON',
      { s3Buckets: { b: { region: 'r', policy: '{' } } },
      /policy: is not valid JSON/,
    ],
    [
      'bad versioning',
      { s3Buckets: { b: { region: 'r', versioning: 'On' } } },
      /versioning must be one of Enabled, Suspended/,
    ],
    [
      'a volume without a size',
      { ebsVolumes: { v: { region: 'r', zone: 'ra' } } },
      /set size \(GiB\) or snapshot/,
    ],
  ] as const) {
    it(`refuses ${what}`, () => {
      assert.throws(() => parseResources('d', resources as never), invalid(pattern));
    });
  }

  it('reads a machine with NixOps defaults: the default group, m1.small, a Name tag', () => {
    const spec = parseInstance('prod', ec2Machine({ region: 'eu-west-1', ami: 'ami-1' }));
    assert.deepEqual(
      [spec.instanceType, spec.securityGroups, spec.tags, spec.associatePublicIpAddress, spec.blockDevices],
      ['m1.small', ['default'], { Name: 'prod [web]' }, false, []],
    );
  });

  it('reads references, volumes made at launch and attached volumes', () => {
    const spec = parseInstance(
      'd',
      ec2Machine({
        region: 'r',
        ami: 'ami-1',
        keyPair: { _ref: 'ec2KeyPairs.kp', name: 'reconix-d-kp' },
        securityGroupIds: ['sg-1', { _ref: 'ec2SecurityGroups.web' }],
        elasticIPv4: { _ref: 'elasticIPs.ip' },
        blockDeviceMapping: { '/dev/xvdg': { size: 10 }, '/dev/xvdf': { disk: { _ref: 'ebsVolumes.data' } } },
        tags: { role: 'web' },
      }),
    );
    assert.deepEqual(spec.keyPair, { _ref: 'ec2KeyPairs.kp' });
    assert.deepEqual(spec.securityGroups, []);
    assert.deepEqual(spec.blockDevices, [
      { device: '/dev/xvdf', disk: { _ref: 'ebsVolumes.data' }, deleteOnTermination: false, encrypt: false },
      { device: '/dev/xvdg', size: 10, deleteOnTermination: true, encrypt: false },
    ]);
    assert.deepEqual(spec.deps.sort(), [
      'ebsVolumes.data',
      'ec2KeyPairs.kp',
      'ec2SecurityGroups.web',
      'elasticIPs.ip',
    ]);
    assert.throws(
      () => checkReferences(spec, { ec2KeyPairs: { kp: { region: 'other' } } }),
      invalid(/refers to ebsVolumes\.data, which is not defined|in r but refers to ec2KeyPairs\.kp in other/),
    );
  });

  for (const [what, ec2, pattern] of [
    ['no region', { ami: 'ami-1' }, /region is required/],
    ['no AMI', { region: 'r' }, /ami is required/],
    [
      'a zone of another region',
      { region: 'eu-west-1', ami: 'a', zone: 'us-east-1a' },
      /zone us-east-1a is not in region eu-west-1/,
    ],
    ['a key pair that is a list', { region: 'r', ami: 'a', keyPair: ['x'] }, /keyPair must be a string/],
    [
      'a reference of the wrong type',
      { region: 'r', ami: 'a', keyPair: { _ref: 's3Buckets.b' } },
      /only ec2KeyPairs can be referred to here/,
    ],
    [
      'an elastic IP that is not an address',
      { region: 'r', ami: 'a', elasticIPv4: 'eip-1' },
      /elasticIPv4 must be an IPv4 address/,
    ],
    [
      'a disk that is not a volume',
      { region: 'r', ami: 'a', blockDeviceMapping: { '/dev/xvdf': { disk: 'ephemeral0' } } },
      /disk must be a volume id/,
    ],
    [
      'a group id that is not one',
      { region: 'r', ami: 'a', securityGroupIds: ['web'] },
      /web is not a group id/,
    ],
  ] as const) {
    it(`refuses a machine with ${what}`, () => {
      assert.throws(() => parseInstance('d', ec2Machine(ec2 as never)), invalid(pattern));
    });
  }
});
