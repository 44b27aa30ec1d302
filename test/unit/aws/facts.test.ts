import assert from 'node:assert/strict';
import { ReconixError } from '../../../src/core/errors.js';
import type { ResourceChange, ResourceContext } from '../../../src/core/ports.js';
import { isEc2Facts, readEc2Facts, type Ec2Facts } from '../../../src/providers/aws/facts.js';
import { declared } from '../../../src/providers/aws/manager.js';
import { awsResourcePass } from '../../../src/providers/aws/pass.js';
import { silentLogger } from '../../../src/util/log.js';

const facts: Ec2Facts = {
  resources: { ec2KeyPairs: { kp: { id: 'key-1', name: 'reconix-d-kp', region: 'r1' } } },
  declared: { ec2KeyPairs: { kp: { region: 'r1' } }, s3Buckets: { b: {} } },
  keyFiles: { 'ec2KeyPairs.kp': '/state/secrets/d/ec2KeyPairs.kp.t' },
};

describe('the facts the AWS resource pass hands the ec2 target', () => {
  it('accepts what the resource manager returns, with or without a listing of instances', () => {
    assert.equal(isEc2Facts(facts), true);
    assert.equal(isEc2Facts({ ...facts, instances: { r1: [{ InstanceId: 'i-1' }, {}] } }), true);
  });

  const wrong: [string, unknown][] = [
    ['that are a string', 'facts'],
    ['that are a list', [facts]],
    ['without resources', { declared: {}, keyFiles: {} }],
    [
      'with a resource that is not a record of fields',
      { ...facts, resources: { ec2KeyPairs: { kp: 'key-1' } } },
    ],
    ['with a region that is not a string', { ...facts, declared: { ec2KeyPairs: { kp: { region: 1 } } } }],
    ['with a key file that is not a path', { ...facts, keyFiles: { 'ec2KeyPairs.kp': true } }],
    ['with a listing that is not a list', { ...facts, instances: { r1: { InstanceId: 'i-1' } } }],
    ['with an instance whose id is not a string', { ...facts, instances: { r1: [{ InstanceId: 7 }] } }],
  ];
  for (const [what, value] of wrong) {
    it(`refuses facts ${what}`, () => {
      assert.equal(isEc2Facts(value), false);
    });
  }

  it('reads no facts when no resource pass ran, and the facts themselves when one did', () => {
    assert.equal(readEc2Facts(undefined), undefined);
    assert.equal(readEc2Facts({}), undefined);
    assert.equal(readEc2Facts(facts), facts);
  });

  it("says which fields it was given when the facts are not the AWS pass's", () => {
    assert.throws(
      () => readEc2Facts({ hosts: ['a'], resources: 3 }),
      (err: ReconixError) => {
        assert.equal(err.reason, 'ProvisioningFailed');
        assert.match(err.message, /facts it does not know \(fields: hosts, resources\)/);
        return true;
      },
    );
  });

  it('names every declared resource with its region, and none for one without', () => {
    assert.deepEqual(
      declared({
        ec2KeyPairs: { kp: { region: 'r1', keyName: 'x' } },
        s3Buckets: { b: { region: { _ref: 'elsewhere' } } },
      }),
      { ec2KeyPairs: { kp: { region: 'r1' } }, s3Buckets: { b: {} } },
    );
  });
});

describe('the AWS resource pass', () => {
  const ctx: ResourceContext = {
    deployment: 'd',
    physical: { description: '', machines: {}, resources: {} },
    state: { version: 1, name: 'd', machines: {}, resources: {} },
    save: async () => undefined,
    log: silentLogger,
  };
  const change = (resource: string): ResourceChange => ({ resource, action: 'update' });

  it("gives the instances the resources' facts and returns both halves' changes with the instances' facts", async () => {
    const seen: unknown[] = [];
    const listed = { ...facts, instances: { r1: [] } };
    const pass = awsResourcePass(
      {
        reconcile: async () => ({ changes: [change('ec2KeyPairs.kp')], facts }),
        destroy: async () => [],
      },
      {
        reconcile: async (_ctx, apply, given) => {
          seen.push([apply, given]);
          return { changes: [change('ec2Instances.web')], facts: listed };
        },
      },
    );
    const got = await pass.reconcile(ctx, true);
    assert.deepEqual(seen, [[true, facts]]);
    assert.deepEqual(
      got.changes.map((c) => c.resource),
      ['ec2KeyPairs.kp', 'ec2Instances.web'],
    );
    assert.equal(got.facts, listed);
  });

  it('leaves the instances alone when a resource failed', async () => {
    let called = false;
    const pass = awsResourcePass(
      {
        reconcile: async () => Promise.reject(new Error('ec2KeyPairs.kp: AWS error AccessDenied')),
        destroy: async () => [],
      },
      {
        reconcile: async () => {
          called = true;
          return { changes: [], facts };
        },
      },
    );
    await assert.rejects(pass.reconcile(ctx, true), /AccessDenied/);
    assert.equal(called, false);
  });
});
