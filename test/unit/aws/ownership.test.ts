import assert from 'node:assert/strict';
import type { Instance } from '@aws-sdk/client-ec2';
import type { ResourceRecord } from '../../../src/core/model.js';
import { matchInstance } from '../../../src/providers/aws/instances/record.js';
import type { Found } from '../../../src/providers/aws/kinds/kind.js';
import { matchRecord } from '../../../src/providers/aws/registry.js';

const found = (id: string, logical?: string): Found => ({
  id,
  awsName: id,
  ...(logical ? { logical } : {}),
  attrs: {},
  facts: { region: 'us-east-1', name: id },
});
const record = (id: string): ResourceRecord =>
  ({ type: 's3Buckets', name: 'logs', id, token: 't1', facts: { region: 'us-east-1' } }) as ResourceRecord;

describe('what a deployment may destroy: objects tagged as its own', () => {
  it('refuses a recorded bucket id that names a bucket without this resource tags', () => {
    // The state says "theirs"; only "mine" is tagged as s3Buckets.logs of this deployment.
    const list = [found('theirs'), found('mine', 's3Buckets.logs')];
    assert.equal(matchRecord('s3Buckets.logs', 'us-east-1', record('theirs'), list)?.id, 'mine');
    assert.equal(matchRecord('s3Buckets.logs', 'us-east-1', record('theirs'), [found('theirs')]), undefined);
  });

  it('refuses a recorded id tagged as another resource of the deployment', () => {
    const list = [found('other', 's3Buckets.other')];
    assert.equal(matchRecord('s3Buckets.logs', 'us-east-1', record('other'), list), undefined);
  });

  it('takes a recorded id tagged as this resource', () => {
    assert.equal(
      matchRecord('s3Buckets.logs', 'us-east-1', record('mine'), [found('mine', 's3Buckets.logs')])?.id,
      'mine',
    );
  });

  it('refuses a recorded instance id of an instance tagged for another machine', () => {
    const inst = (id: string, name: string): Instance => ({
      InstanceId: id,
      ClientToken: `token-${id}`,
      State: { Name: 'running' },
      Tags: [{ Key: 'reconix:name', Value: name }],
    });
    const list = [inst('i-db', 'db'), inst('i-web', 'web')];
    const rec = { region: 'us-east-1', token: 'unknown', instanceId: 'i-db' };
    assert.equal(matchInstance(list, 'web', rec)?.InstanceId, 'i-web');
    assert.equal(matchInstance([inst('i-db', 'db')], 'web', rec), undefined);
  });
});
