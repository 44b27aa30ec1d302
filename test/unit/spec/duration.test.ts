import assert from 'node:assert/strict';
import { parseDuration } from '../../../src/util/duration.js';

describe('parseDuration', () => {
  const good: [string, number][] = [
    ['500ms', 500],
    ['10s', 10_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1m30s250ms', 90_250],
    ['0s', 0],
  ];
  for (const [text, ms] of good) {
    it(`reads ${text} as ${ms} milliseconds`, () => {
      assert.equal(parseDuration(text), ms);
    });
  }

  for (const text of ['', '5', 'm', '5 m', '1.5h', '-5m', '5d', '5m ', 'h1']) {
    it(`refuses ${JSON.stringify(text)} with a message that shows the expected form`, () => {
      assert.throws(() => parseDuration(text), /invalid duration .*e\.g\. 5m/);
    });
  }
});
