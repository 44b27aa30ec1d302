import assert from 'node:assert/strict';
import { planHasChanges, renderResourceChanges } from '../../../src/cli/render-resources.js';

describe('rendering cloud resource changes', () => {
  const changes = [
    {
      resource: 'ec2KeyPairs.kp',
      action: 'create' as const,
      attributes: { keyName: [null, 'kp'] as [unknown, unknown] },
    },
    {
      resource: 'ec2SecurityGroups.web',
      action: 'update' as const,
      attributes: { rules: [[1], [2]] as [unknown, unknown] },
    },
    {
      resource: 's3Buckets.b',
      action: 'replace' as const,
      note: 'forces replacement: bucketName; not done: run with --allow-recreate',
    },
    { resource: 'elasticIPs.ip', action: 'unchanged' as const },
    {
      resource: 'ebsVolumes.v',
      action: 'destroy' as const,
      attributes: { id: ['vol-1', null] as [unknown, unknown] },
    },
  ];

  it('shows each change terraform-style and leaves out what does not change', () => {
    assert.deepEqual(renderResourceChanges(changes), [
      'Cloud resources:',
      '    + ec2KeyPairs.kp will be created',
      '        keyName: "kp"',
      '    ~ ec2SecurityGroups.web will be updated in place',
      '        rules: [1] -> [2]',
      '  -/+ s3Buckets.b must be replaced',
      '        # forces replacement: bucketName; not done: run with --allow-recreate',
      '    - ebsVolumes.v will be destroyed',
      '        id: "vol-1" -> (none)',
      'Resources: 1 to create, 1 to update in place, 1 to replace, 1 to destroy, 0 to adopt.',
    ]);
  });

  it('speaks in the past of what was done, but not of what waits for the user', () => {
    const lines = renderResourceChanges(changes, true);
    assert.ok(lines.includes('    + ec2KeyPairs.kp was created'));
    assert.ok(lines.includes('  -/+ s3Buckets.b must be replaced'));
  });

  it('counts resource changes as changes of the plan', () => {
    assert.equal(planHasChanges({ machines: [], actions: [], resources: [changes[3]!] }), false);
    assert.equal(planHasChanges({ machines: [], actions: [], resources: changes }), true);
    assert.deepEqual(renderResourceChanges([]), []);
  });
});
