import assert from 'node:assert/strict';
import { sameJson } from '../../../src/plan/resources.js';
import { canonicalJson } from '../../../src/util/json.js';

describe('canonical JSON', () => {
  it('sorts keys at every depth, keeping arrays in order', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [2, 1], c: null } }), '{"a":{"c":null,"d":[2,1]},"b":1}');
  });
  it('leaves out keys whose value is undefined, at every depth', () => {
    assert.equal(canonicalJson({ a: 1, b: undefined, c: { d: undefined } }), '{"a":1,"c":{}}');
    assert.ok(sameJson({ a: 1, b: undefined }, { a: 1 }));
    assert.ok(sameJson({ x: { a: 1, b: undefined } }, { x: { a: 1 } }));
  });
  it('spells undefined itself as "undefined", unlike null', () => {
    assert.equal(canonicalJson(undefined), 'undefined');
    assert.ok(!sameJson(undefined, null));
  });
  it('tells documents that differ apart', () => {
    assert.ok(!sameJson({ a: 1 }, { a: 2 }));
    assert.ok(!sameJson([1, 2], [2, 1]));
  });
});
