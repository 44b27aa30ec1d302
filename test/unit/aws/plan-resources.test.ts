import assert from 'node:assert/strict';
import {
  creationOrder,
  destructionOrder,
  diffAttributes,
  planResource,
  toChange,
  UNKNOWN,
  type DesiredResource,
} from '../../../src/plan/resources.js';

const want = (attrs: Record<string, unknown>, key = 'ec2SecurityGroups.web'): DesiredResource => ({
  key,
  type: key.split('.')[0]!,
  deps: [],
  attrs,
});
const rules = { mutable: ['rules', 'tags'] };

describe('resource planning', () => {
  describe('creationOrder', () => {
    it('puts every resource after the ones it refers to, ties broken by key', () => {
      assert.deepEqual(
        creationOrder([
          { key: 'b.web', deps: ['b.admin', 'a.kp'] },
          { key: 'b.admin', deps: [] },
          { key: 'a.kp', deps: [] },
          { key: 'c.x', deps: ['b.web'] },
        ]),
        ['a.kp', 'b.admin', 'b.web', 'c.x'],
      );
    });

    it('refuses a cycle and names it', () => {
      assert.throws(
        () =>
          creationOrder([
            { key: 'g.a', deps: ['g.b'] },
            { key: 'g.b', deps: ['g.a'] },
          ]),
        /cycle: g\.a -> g\.b -> g\.a/,
      );
    });

    it('ignores references to itself and to resources outside the set', () => {
      assert.deepEqual(creationOrder([{ key: 'g.a', deps: ['g.a', 'other.x'] }]), ['g.a']);
    });
  });

  it('destroys dependents first: later types first, then by key', () => {
    const rank = (t: string) => ['ec2KeyPairs', 'ec2SecurityGroups', 's3Buckets'].indexOf(t);
    assert.deepEqual(
      destructionOrder(['ec2KeyPairs.kp', 's3Buckets.b', 'ec2SecurityGroups.b', 'ec2SecurityGroups.a'], rank),
      ['s3Buckets.b', 'ec2SecurityGroups.a', 'ec2SecurityGroups.b', 'ec2KeyPairs.kp'],
    );
  });

  describe('planResource', () => {
    it('creates what is not there, listing every attribute it will have', () => {
      const step = planResource(
        want({ groupName: 'web', rules: [], vpcId: undefined }),
        undefined,
        undefined,
        rules,
        false,
      );
      assert.deepEqual(step, {
        key: 'ec2SecurityGroups.web',
        adopt: false,
        action: 'create',
        changed: { groupName: [null, 'web'], rules: [null, []] },
        replaceBecause: [],
      });
    });

    it('leaves alone what matches, whatever the key order of nested values', () => {
      const step = planResource(
        want({ rules: [{ a: 1, b: 2 }] }),
        { id: 'sg-1', attrs: { rules: [{ b: 2, a: 1 }], extra: 'ignored' } },
        'sg-1',
        rules,
        false,
      );
      assert.equal(step.action, 'unchanged');
      assert.deepEqual(toChange(step), { resource: 'ec2SecurityGroups.web', action: 'unchanged' });
    });

    it('leaves alone tags listed in another order, and updates a changed one', () => {
      const spec = { tags: { app: 'x', Name: 'n', role: 'web' } };
      const listed = (tags: Record<string, string>) => ({ id: 'sg-1', attrs: { tags } });
      const same = planResource(
        want(spec),
        listed({ role: 'web', Name: 'n', app: 'x' }),
        'sg-1',
        rules,
        false,
      );
      assert.equal(same.action, 'unchanged');
      const other = planResource(
        want(spec),
        listed({ role: 'db', Name: 'n', app: 'x' }),
        'sg-1',
        rules,
        false,
      );
      assert.deepEqual(Object.keys(other.changed), ['tags']);
    });

    it('updates in place when only mutable attributes differ', () => {
      const step = planResource(
        want({ rules: [1], tags: { a: 'b' } }),
        { id: 'sg-1', attrs: { rules: [2], tags: {} } },
        'sg-1',
        rules,
        false,
      );
      assert.equal(step.action, 'update');
      assert.deepEqual(step.changed, { rules: [[2], [1]], tags: [{}, { a: 'b' }] });
    });

    it('replaces when an immutable attribute differs, and waits for --allow-recreate', () => {
      const observed = { id: 'sg-1', attrs: { description: 'old', rules: [] } };
      const blocked = planResource(want({ description: 'new', rules: [] }), observed, 'sg-1', rules, false);
      assert.equal(blocked.action, 'replace');
      assert.deepEqual(blocked.replaceBecause, ['description']);
      assert.match(
        toChange(blocked).note ?? '',
        /forces replacement: description; not done: .*--allow-recreate/,
      );
      const allowed = planResource(want({ description: 'new', rules: [] }), observed, 'sg-1', rules, true);
      assert.equal(allowed.blocked, undefined);
    });

    it('adopts an object found in AWS that the state does not record', () => {
      const step = planResource(
        want({ rules: [] }),
        { id: 'sg-9', attrs: { rules: [] } },
        undefined,
        rules,
        false,
      );
      assert.deepEqual([step.adopt, step.action, toChange(step).action], [true, 'unchanged', 'adopt']);
    });

    it('counts a value that depends on a resource not created yet as a change', () => {
      const step = planResource(
        want({ rules: [{ sourceGroup: UNKNOWN }] }),
        { id: 'sg-1', attrs: { rules: [] } },
        'sg-1',
        rules,
        false,
      );
      assert.equal(step.action, 'update');
    });

    it("uses the kind's own notion of equal", () => {
      const loose = {
        mutable: ['x'],
        equal: (_a: string, w: unknown, h: unknown) => String(w) === String(h),
      };
      assert.deepEqual(diffAttributes({ x: 1 }, { x: '1' }, loose.equal), {});
      assert.deepEqual(diffAttributes({ x: 1 }, { x: '1' }), { x: ['1', 1] });
    });
  });
});
