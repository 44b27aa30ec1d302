import assert from 'node:assert/strict';
import { WorkQueue, withJitter } from '../../../src/controller/queue.js';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('WorkQueue', () => {
  it('runs a key added many times while queued only once', async () => {
    // GIVEN a queue whose only worker is busy
    const runs: string[] = [];
    const q = new WorkQueue(
      async (k) => {
        runs.push(k);
        if (k === 'busy') await tick(20);
      },
      { concurrency: 1, baseDelayMs: 1, maxDelayMs: 10 },
    );
    q.add('busy');
    // WHEN a key is added several times while it waits
    q.add('a');
    q.add('a');
    q.add('b');
    q.add('a');
    await q.idle();
    // THEN it runs once
    assert.deepEqual(runs, ['busy', 'a', 'b']);
  });

  it('never runs one key twice at once, but runs it again when it was added while running', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const q = new WorkQueue(
      async () => {
        running++;
        runs++;
        maxRunning = Math.max(maxRunning, running);
        await tick(20);
        running--;
      },
      { concurrency: 4, baseDelayMs: 1, maxDelayMs: 10 },
    );
    q.add('a');
    await tick(5);
    q.add('a');
    q.add('a');
    await tick(60);
    await q.idle();
    assert.equal(maxRunning, 1);
    assert.equal(runs, 2);
  });

  it('caps concurrency across keys', async () => {
    let running = 0;
    let maxRunning = 0;
    const q = new WorkQueue(
      async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await tick(10);
        running--;
      },
      { concurrency: 2, baseDelayMs: 1, maxDelayMs: 10 },
    );
    for (const k of ['a', 'b', 'c', 'd', 'e']) q.add(k);
    await q.idle();
    assert.equal(maxRunning, 2);
  });

  it('backs off exponentially per key and resets after forget', () => {
    const q = new WorkQueue(async () => undefined, { concurrency: 1, baseDelayMs: 100, maxDelayMs: 1000 });
    assert.deepEqual(
      [1, 2, 3, 4, 5].map(() => q.addRateLimited('x')),
      [100, 200, 400, 800, 1000],
    );
    assert.equal(q.addRateLimited('y'), 100);
    q.forget('x');
    assert.equal(q.addRateLimited('x'), 100);
    q.shutdown();
  });

  it('keeps the earlier of two delayed adds', async () => {
    const runs: number[] = [];
    const q = new WorkQueue(async () => void runs.push(Date.now()), {
      concurrency: 1,
      baseDelayMs: 1,
      maxDelayMs: 10,
    });
    const t0 = Date.now();
    q.addAfter('a', 10_000);
    q.addAfter('a', 10);
    await tick(50);
    assert.equal(runs.length, 1);
    assert.ok(runs[0]! - t0 < 1000);
    q.shutdown();
  });
});

describe('withJitter', () => {
  it('stretches a period by at most the fraction', () => {
    assert.equal(
      withJitter(1000, 0.1, () => 0),
      1000,
    );
    assert.equal(
      withJitter(1000, 0.1, () => 0.999),
      1100,
    );
  });
});
