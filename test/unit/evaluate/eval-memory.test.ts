// What evaluations cost is remembered between processes: a second EvalMemory on the same directory starts from
// the cost the first learned, what it measures itself comes first, and a damaged file is only a cold start.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EvalMemory } from '../../../src/evaluate/batches.js';

const MB = 1024 * 1024;

describe('the evaluation memory remembered between processes', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reconix-eval-memory-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the next process the cost this one learned', async () => {
    const first = new EvalMemory(dir);
    await first.load('web');
    first.recordBase('web', 40 * MB);
    first.record('web', { size: 1, peak: 50 * MB });
    first.record('web', { size: 4, peak: 80 * MB });
    await first.save('web');

    const next = new EvalMemory(dir);
    assert.equal(next.cost('web'), undefined);
    await next.load('web');
    assert.deepEqual(next.cost('web'), first.cost('web'));
    assert.equal(next.cost('db'), undefined);
  });

  it('puts what it measured itself before what it read', async () => {
    const first = new EvalMemory(dir);
    first.record('web', { size: 2, peak: 500 * MB });
    await first.save('web');
    const next = new EvalMemory(dir);
    next.record('web', { size: 2, peak: 60 * MB });
    next.recordBase('web', 40 * MB);
    await next.load('web');
    const cost = next.cost('web');
    assert.ok(cost);
    // The largest share any batch implies: the remembered, heavier batch still counts (a safe plan).
    assert.ok(cost.perMachine >= ((500 - 40) / 2) * MB - 1, String(cost.perMachine));
    assert.equal(cost.base, 40 * MB);
  });

  it('starts cold, without an error, from a damaged or foreign file', async () => {
    await writeFile(join(dir, 'web.json'), '{ not json');
    await writeFile(join(dir, 'db.json'), JSON.stringify({ base: 'x', batches: [{ size: -1, peak: 5 }, 7] }));
    const m = new EvalMemory(dir);
    await m.load('web');
    await m.load('db');
    assert.equal(m.cost('web'), undefined);
    assert.equal(m.cost('db'), undefined);
  });

  it('keeps one file per deployment, named so that no name can leave the directory', async () => {
    const m = new EvalMemory(dir);
    m.record('../../etc/x', { size: 1, peak: 10 * MB });
    await m.save('../../etc/x');
    assert.deepEqual(await readdir(dir), ['..%2F..%2Fetc%2Fx.json']);
  });

  it('without a directory, remembers for the life of the process only', async () => {
    const m = new EvalMemory();
    m.record('web', { size: 1, peak: 10 * MB });
    await m.save('web');
    await m.load('web');
    assert.ok(m.cost('web'));
    assert.deepEqual(await readdir(dir), []);
  });
});
