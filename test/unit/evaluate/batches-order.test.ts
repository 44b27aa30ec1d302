// Batches finish in any order; the systems come back in the machines' order, which plans and reports follow.
import assert from 'node:assert/strict';
import { EvalMemory, evaluateInBatches } from '../../../src/evaluate/batches.js';
import { TRACED_BATCH, tracedBatch } from '../../../src/evaluate/evaluator.js';

describe('evaluating in batches', () => {
  it('returns the machines in the order asked, whichever batch finished first', async () => {
    const machines = ['a', 'b', 'c', 'd', 'e'];
    // A known cost, so that two batches run at once: a, b, c and then d, e.
    const memory = new EvalMemory();
    memory.recordBase('order', 100 * 2 ** 20);
    memory.record('order', { size: 1, peak: 101 * 2 ** 20 });
    memory.record('order', { size: 2, peak: 102 * 2 ** 20 });
    const batches: string[][] = [];
    const result = await evaluateInBatches({
      deployment: 'order',
      machines,
      budget: 2 ** 30,
      workers: 2,
      memory,
      // The first batch is the slowest: the later ones finish before it.
      run: async (batch) => {
        batches.push(batch);
        await new Promise((r) => setTimeout(r, batch.includes('a') ? 50 : 1));
        return { value: Object.fromEntries(batch.map((m) => [m, m.toUpperCase()])), peak: undefined };
      },
    });
    assert.ok(batches.length >= 2 && batches[0]!.includes('a'), JSON.stringify(batches));
    assert.deepEqual(Object.keys(result), machines);
    assert.deepEqual(Object.values(result), ['A', 'B', 'C', 'D', 'E']);
  });

  it('puts no more machines in a batch than maxBatch, whatever the budget allows', async () => {
    const batches: string[][] = [];
    await evaluateInBatches({
      deployment: 'capped',
      machines: ['a', 'b', 'c', 'd', 'e'],
      budget: Infinity,
      workers: 2,
      memory: new EvalMemory(),
      maxBatch: 2,
      run: (batch) => {
        batches.push(batch);
        return Promise.resolve({ value: {}, peak: undefined });
      },
    });
    assert.deepEqual(batches.flat().sort(), ['a', 'b', 'c', 'd', 'e']);
    assert.ok(batches.length >= 3 && batches.every((b) => b.length <= 2), JSON.stringify(batches));
  });
});

describe('the batches of an evaluation that traces what each machine read', () => {
  it('evaluates a few machines alone, and more in batches of about the square root of their number', () => {
    assert.equal(tracedBatch(1), 1);
    assert.equal(tracedBatch(TRACED_BATCH.alone), 1);
    assert.equal(tracedBatch(32), 6);
    assert.equal(tracedBatch(100), 10);
    assert.equal(tracedBatch(1000), 32);
    assert.equal(tracedBatch(100_000), TRACED_BATCH.max);
  });
});
