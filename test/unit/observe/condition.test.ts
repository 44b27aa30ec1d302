import assert from 'node:assert/strict';
import { conditionProblem, evaluateCondition, parseCondition } from '../../../src/api/condition.js';

const holds = (text: string, result: number): boolean => evaluateCondition(parseCondition(text), result);

describe('a successCondition', () => {
  it('compares result with a number by each of the six comparisons', () => {
    assert.equal(holds('result < 0.01', 0.005), true);
    assert.equal(holds('result < 0.01', 0.01), false);
    assert.equal(holds('result <= 0.01', 0.01), true);
    assert.equal(holds('result > 5', 6), true);
    assert.equal(holds('result >= 5', 4.9), false);
    assert.equal(holds('result == 0', 0), true);
    assert.equal(holds('result != 0', 0), false);
  });

  it('reads the number on either side, in decimal, negative or exponent form', () => {
    assert.equal(holds('0.5 > result', 0.4), true);
    assert.equal(holds('result > -3', -2), true);
    assert.equal(holds('result < 1e-3', 0.0005), true);
    assert.equal(holds('result<.5', 0.25), true);
  });

  it('binds && tighter than ||, and parentheses group', () => {
    // false || (true && true)
    assert.equal(holds('result > 10 || result > 1 && result < 5', 3), true);
    // (false || true) && false
    assert.equal(holds('(result > 10 || result > 1) && result < 2', 3), false);
    assert.equal(holds('((result >= 0)) && (result < 1 || result == 7)', 7), true);
  });

  it('is false on NaN except for !=', () => {
    assert.equal(holds('result < 1', NaN), false);
    assert.equal(holds('result >= 1', NaN), false);
    assert.equal(holds('result != 1', NaN), true);
  });

  it('says at which column an operand is missing', () => {
    assert.throws(
      () => parseCondition('result < '),
      /^ConditionError: invalid successCondition "result < " at column 10: expected result, a number or "\(", found the end$/,
    );
  });

  it('names an unknown name, a lone = and a single & where they stand', () => {
    assert.throws(() => parseCondition('value < 1'), /at column 1: unknown name "value"/);
    assert.throws(() => parseCondition('result = 1'), /at column 8: unexpected "=" \(equality is ==\)/);
    assert.throws(() => parseCondition('result =< 1'), /at column 8: unexpected "=" \(write <=\)/);
    assert.throws(
      () => parseCondition('result > 1 & result < 2'),
      /at column 12: unexpected "&" \(use && or \|\|\)/,
    );
  });

  it('refuses an unclosed parenthesis, naming where it opened', () => {
    assert.throws(
      () => parseCondition('(result > 1 && result < 2'),
      /at column 26: expected "&&", "\|\|" or "\)" closing the "\(" at column 1, found the end/,
    );
  });

  it('refuses a comparison without result, a chained comparison and trailing text', () => {
    assert.throws(() => parseCondition('1 < 2'), /at column 1: compares two numbers/);
    assert.throws(() => parseCondition('result < result'), /compares result with itself/);
    assert.throws(
      () => parseCondition('0 < result < 1'),
      /at column 12: expected "&&", "\|\|" or the end, found "<"/,
    );
    assert.throws(() => parseCondition('result'), /at column 7: expected a comparison/);
    assert.throws(() => parseCondition('   '), /at column 1: the condition is empty/);
  });

  it('is described as a problem of its field for the spec validation, or not at all when it parses', () => {
    assert.equal(conditionProblem('waves[0].analysis.successCondition', 'result < 1'), undefined);
    assert.match(
      conditionProblem('waves[0].analysis.successCondition', 'result <') ?? '',
      /^waves\[0\]\.analysis\.successCondition: invalid successCondition "result <" at column 9: /,
    );
  });
});
