// The arithmetic of batched evaluation: how many machines the next nix-instantiate gets, and what a machine is
// learned to cost from the batches measured.
import assert from 'node:assert/strict';
import { GROWTH, HEADROOM, learnCost, planBatch, START_BATCH } from '../../../src/evaluate/batch-size.js';
import { memoryBudgetProblem, parseSize } from '../../../src/util/size.js';

const MiB = 2 ** 20;
const cost = (base: number, perMachine: number, largestBatch = 1000) => ({
  base: base * MiB,
  perMachine: perMachine * MiB,
  largestBatch,
  fitted: true,
});

describe('planBatch', () => {
  const cases: {
    name: string;
    budget: number;
    workers?: number;
    remaining: number;
    running?: number[];
    cost?: ReturnType<typeof cost>;
    size: number;
    oversize?: boolean;
  }[] = [
    {
      name: 'starts with a small batch alone when nothing is known',
      budget: 1024,
      remaining: 40,
      size: START_BATCH,
    },
    {
      name: 'waits for the first batch before starting another',
      budget: 1024,
      remaining: 38,
      running: [2],
      size: 0,
    },
    {
      name: 'gives everything to one process when the budget is unlimited',
      budget: Infinity,
      remaining: 40,
      size: 40,
    },
    // 0.9 x 300 = 270 MiB for 2 workers: 135 each, 40 base, 95 / 10 -> 9 machines.
    {
      name: "sizes a batch to its worker's share of the budget",
      budget: 300,
      remaining: 40,
      cost: cost(40, 10),
      size: 9,
    },
    {
      name: 'fits a batch in what the batches in flight leave',
      budget: 300,
      remaining: 40,
      running: [9],
      cost: cost(40, 10),
      size: 9,
    },
    {
      name: 'takes only what is left of the budget',
      budget: 300,
      remaining: 40,
      running: [11],
      cost: cost(40, 10),
      size: 8,
    },
    {
      name: 'waits when every worker is busy',
      budget: 1024,
      remaining: 40,
      running: [2, 2],
      cost: cost(40, 1),
      size: 0,
    },
    {
      name: 'spreads the last machines over the free workers',
      budget: 1024,
      remaining: 6,
      cost: cost(40, 1),
      size: 3,
    },
    {
      name: 'grows at most GROWTH times the largest batch measured',
      budget: 1024,
      remaining: 100,
      cost: cost(40, 1, 2),
      size: 2 * GROWTH,
    },
    {
      name: 'runs fewer workers when the budget holds only one',
      budget: 100,
      workers: 4,
      remaining: 10,
      cost: cost(40, 30),
      size: 1,
    },
    {
      name: 'waits for the one worker the budget holds',
      budget: 100,
      workers: 4,
      remaining: 10,
      running: [1],
      cost: cost(40, 30),
      size: 0,
    },
    {
      name: 'evaluates a machine bigger than the budget alone, and says so',
      budget: 100,
      remaining: 5,
      cost: cost(40, 200),
      size: 1,
      oversize: true,
    },
    {
      name: 'starts no oversize machine beside another batch',
      budget: 100,
      remaining: 5,
      running: [1],
      cost: cost(40, 200),
      size: 0,
    },
    {
      name: 'runs one large batch rather than two of a machine each when the base is most of a process',
      budget: 512,
      remaining: 1000,
      cost: cost(228, 2, 64),
      size: 116,
    },
    {
      name: 'starts no second process beside that one large batch',
      budget: 512,
      remaining: 884,
      running: [116],
      cost: cost(228, 2, 64),
      size: 0,
    },
    {
      name: 'measures a second size alone while the base is unknown',
      budget: 1024,
      remaining: 39,
      cost: { ...cost(0, 40, 1), fitted: false },
      size: 2,
    },
    {
      name: 'waits for that second size before any other batch',
      budget: 1024,
      remaining: 37,
      running: [2],
      cost: { ...cost(0, 40, 1), fitted: false },
      size: 0,
    },
    { name: 'plans nothing when no machine is left', budget: 1024, remaining: 0, cost: cost(40, 1), size: 0 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planBatch({
        budget: c.budget * MiB,
        workers: c.workers ?? 2,
        remaining: c.remaining,
        running: c.running ?? [],
        cost: c.cost,
      });
      assert.equal(plan.size, c.size);
      assert.equal(plan.oversize, c.oversize ?? false);
    });
  }

  it('keeps the planned batches in flight under the budget, whatever the cost', () => {
    for (const [base, per] of [
      [40, 10],
      [30, 3],
      [100, 50],
      [10, 0.5],
    ] as const) {
      const running: number[] = [];
      const c = cost(base, per);
      for (
        let plan = planBatch({ budget: 500 * MiB, workers: 3, remaining: 1000, running, cost: c });
        plan.size > 0;
      ) {
        running.push(plan.size);
        plan = planBatch({ budget: 500 * MiB, workers: 3, remaining: 1000, running, cost: c });
      }
      const planned = running.reduce((s, n) => s + c.base + c.perMachine * n, 0);
      assert.ok(planned <= 500 * MiB * HEADROOM, `${base}+${per}: ${planned / MiB} MiB`);
      assert.ok(running.length <= 3);
    }
  });
});

describe('learnCost', () => {
  it('knows nothing before a batch is measured', () => {
    assert.equal(learnCost([]), undefined);
  });
  it('takes the physical evaluation as the base and the worst batch for the share of a machine', () => {
    const c = learnCost(
      [
        { size: 2, peak: 60 * MiB },
        { size: 8, peak: 140 * MiB },
      ],
      40 * MiB,
    );
    assert.deepEqual(c, { base: 40 * MiB, perMachine: 12.5 * MiB, largestBatch: 8, fitted: true });
  });
  it('takes the base the batches show when it is above the physical evaluation, not a large share per machine', () => {
    // A network of 1,000 nodes: every systems process reads all of them, whatever its batch.
    const batches = [
      { size: 1, peak: 450 * MiB },
      { size: 2, peak: 451 * MiB },
      { size: 4, peak: 452 * MiB },
    ];
    const c = learnCost(batches, 385 * MiB);
    assert.ok(c && c.base > 449 * MiB && c.base <= 450 * MiB, String(c?.base));
    assert.ok(c.perMachine < 1 * MiB, String(c.perMachine));
    const plan = planBatch({ budget: 1024 * MiB, workers: 2, remaining: 996, running: [], cost: c });
    assert.equal(plan.size, 8, 'grows by GROWTH from the largest batch, not held to a few machines');
  });
  it('reads the share of a machine from the larger batches, not from the noise of a small one', () => {
    const c = learnCost(
      [
        { size: 2, peak: 249 * MiB }, // 5 MiB over the base: 2.5 MiB a machine, if it were a share
        { size: 3, peak: 245 * MiB },
        { size: 49, peak: 264 * MiB },
        { size: 115, peak: 296 * MiB },
      ],
      421 * MiB,
    );
    assert.ok(c);
    assert.equal(c.largestBatch, 115);
    assert.ok(c.perMachine < 0.5 * MiB, `${c.perMachine / MiB} MiB a machine`);
    for (const o of [49, 115]) assert.ok(c.base + c.perMachine * o >= (o === 49 ? 264 : 296) * MiB);
  });
  it('fits the base through batches of different sizes when no physical evaluation was measured', () => {
    const c = learnCost([
      { size: 2, peak: 60 * MiB },
      { size: 6, peak: 100 * MiB },
    ]);
    assert.equal(c?.base, 40 * MiB);
    assert.equal(c?.perMachine, 10 * MiB);
  });
  it('assumes no base, so the most per machine, from one batch size alone, and says it is not fitted', () => {
    assert.deepEqual(learnCost([{ size: 2, peak: 60 * MiB }]), {
      base: 0,
      perMachine: 30 * MiB,
      largestBatch: 2,
      fitted: false,
    });
  });
  it('raises a peak under that of a smaller batch, as a missed one', () => {
    const c = learnCost([
      { size: 1, peak: 224 * MiB },
      { size: 2, peak: 163 * MiB },
    ]);
    assert.equal(c?.base, 224 * MiB);
    assert.equal(c?.fitted, true);
  });
  it('never takes a base above the smallest peak measured', () => {
    assert.equal(learnCost([{ size: 1, peak: 30 * MiB }], 50 * MiB)?.base, 30 * MiB);
  });
});

describe('parseSize', () => {
  const cases: [string, number][] = [
    ['1536M', 1536 * MiB],
    ['2G', 2 * 2 ** 30],
    ['512Mi', 512 * MiB],
    ['300MiB', 300 * MiB],
    ['300MB', 300 * MiB],
    ['4096K', 4 * MiB],
    ['1048576', MiB],
  ];
  for (const [text, bytes] of cases)
    it(`reads ${text} as ${bytes} bytes`, () => assert.equal(parseSize(text), bytes));
  it('refuses a size without a number or with an unknown unit', () => {
    assert.throws(() => parseSize('lots'), /invalid size "lots": expected e\.g\. 512M/);
    assert.throws(() => parseSize('1.5G'), /invalid size/);
    assert.throws(() => parseSize('10P'), /invalid size/);
  });
  it('names the field of a budget too small for one nix-instantiate', () => {
    assert.match(
      memoryBudgetProblem('spec.evaluation.memoryBudget', '10M') ?? '',
      /^spec\.evaluation\.memoryBudget: 10M is under 64M/,
    );
    assert.equal(memoryBudgetProblem('spec.evaluation.memoryBudget', '1G'), undefined);
  });
});
