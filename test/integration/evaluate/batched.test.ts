// Batched evaluation with the real Nix: forty machines, each heavy to evaluate, under a budget that one process
// for all of them exceeds. Every nix-instantiate is watched through the evaluator's runner seam, by PID.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reason } from '../../../src/api/conditions.js';
import { ReconixError } from '../../../src/core/errors.js';
import type { InfraFacts } from '../../../src/core/model.js';
import type { Logger } from '../../../src/core/ports.js';
import { EvalMemory } from '../../../src/evaluate/batches.js';
import { NixEvaluator, type NixEvaluatorOptions } from '../../../src/evaluate/evaluator.js';
import { heavyNetwork, machineNames, ProcessWatch } from '../../support/eval-processes.js';
import { eventually } from '../../support/workspace.js';

const MiB = 2 ** 20;
const BUDGET = 300 * MiB;
const MACHINES = 40;
const STRINGS = 100_000;
const NO_FACTS: InfraFacts = { machines: {}, resources: {} };

describe('batched evaluation under a memory budget (real Nix)', function () {
  this.timeout(300_000);
  let dir: string;
  let watch: ProcessWatch;
  const warnings: string[] = [];
  const log: Logger = { info: () => undefined, warn: (m) => void warnings.push(m), error: () => undefined };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reconix-evalbatch-'));
    watch = new ProcessWatch();
    warnings.length = 0;
  });
  afterEach(async () => {
    watch.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const evaluator = (o: Partial<NixEvaluatorOptions> = {}) =>
    new NixEvaluator({ scratchDir: join(dir, 'eval'), runner: watch.runner, log, ...o });

  it('keeps every process, and the processes running at once, under the budget that one process exceeds', async () => {
    // GIVEN forty heavy machines
    const { source } = await heavyNetwork(dir, { machines: MACHINES, strings: STRINGS });
    const names = machineNames(MACHINES);
    // WHEN they are evaluated in one process
    const one = await evaluator({ memoryBudget: Infinity }).systems(source, NO_FACTS, names);
    // THEN that process exceeds the budget
    assert.equal(watch.pids.length, 1);
    assert.ok(watch.maxPeak > BUDGET, `one process peaked at ${watch.maxPeak / MiB} MiB`);

    const memory = new EvalMemory();
    // WHEN they are evaluated in batches under the budget, after the physical view, as a reconcile does
    const batched = new ProcessWatch();
    const e = new NixEvaluator({
      scratchDir: join(dir, 'eval'),
      runner: batched.runner,
      log,
      memoryBudget: BUDGET,
      memory,
    });
    await e.physical(source);
    const systems = await e.systems(source, NO_FACTS, names);
    batched.stop();
    // THEN the results are those of one process, and no process, nor the sum of those at once, exceeded it
    assert.deepEqual(systems, one);
    const batches = batched.pids.length - 1;
    assert.ok(batches > 2, `${batches} batches`);
    assert.equal(batched.maxConcurrent, 2, 'two workers at once');
    assert.ok(batched.maxPeak < BUDGET, `a batch peaked at ${batched.maxPeak / MiB} MiB`);
    assert.ok(
      batched.maxConcurrentRss < BUDGET,
      `batches at once held ${batched.maxConcurrentRss / MiB} MiB`,
    );
    assert.deepEqual(warnings, []);

    // WHEN the same evaluator evaluates again, it starts from what it learned: fewer, larger batches
    const again = new ProcessWatch();
    const learned = new NixEvaluator({
      scratchDir: join(dir, 'eval'),
      runner: again.runner,
      memoryBudget: BUDGET,
      memory,
    });
    assert.deepEqual(await learned.systems(source, NO_FACTS, names), one);
    again.stop();
    assert.ok(again.pids.length < batches, `${again.pids.length} batches after ${batches}`);
    assert.ok(again.maxConcurrentRss < BUDGET, `batches at once held ${again.maxConcurrentRss / MiB} MiB`);
  });

  it('evaluates in restricted mode in every batch alike', async () => {
    const { source } = await heavyNetwork(dir, { machines: 12, strings: 1000 });
    const names = machineNames(12);
    const plain = await evaluator({ memoryBudget: Infinity }).systems(source, NO_FACTS, names);
    const restricted = evaluator({ memoryBudget: 64 * MiB, restrictEval: true });
    assert.deepEqual(await restricted.systems(source, NO_FACTS, names), plain);
    assert.ok(watch.pids.length > 2, `${watch.pids.length - 1} batches`);
  });

  it('fails a broken machine with the file and line of its error, and starts no batch after it', async () => {
    const { source, file, brokenLine } = await heavyNetwork(dir, {
      machines: 20,
      strings: 1000,
      broken: 'm3',
    });
    const e = evaluator({ memoryBudget: 64 * MiB });
    await assert.rejects(e.systems(source, NO_FACTS, machineNames(20)), (err: unknown) => {
      assert.ok(err instanceof ReconixError, String(err));
      assert.equal(err.reason, Reason.EvaluationFailed);
      assert.equal(err.reaction, 'stall');
      assert.match(err.message, /undefined variable 'noSuchVariable'/);
      assert.ok(err.message.includes(`${file}:${brokenLine}`), err.message);
      return true;
    });
    // m3 is in the second batch (one machine, then two, each alone, to learn the cost): the rest never start.
    assert.ok(watch.pids.length <= 4, `${watch.pids.length} processes`);
  });

  it('stops the batches in flight on cancellation and starts no other, leaving no nix-instantiate running', async () => {
    const { source } = await heavyNetwork(dir, { machines: MACHINES, strings: STRINGS });
    const e = evaluator({ memoryBudget: BUDGET });
    const cancel = new AbortController();
    // Cancel as the batches of two workers start (the third process: the first two measure the cost alone).
    watch.onSpawn = () => {
      if (watch.pids.length === 3) cancel.abort();
    };
    await assert.rejects(
      e.systems(source, NO_FACTS, machineNames(MACHINES), { signal: cancel.signal }),
      (err) => {
        assert.ok(err instanceof ReconixError, String(err));
        assert.equal(err.reason, Reason.Cancelled);
        return true;
      },
    );
    const started = watch.pids.length;
    assert.ok(started <= 4, `${started} processes`);
    await eventually('every nix-instantiate to be gone', async () =>
      watch.pids.every((pid) => !existsSync(`/proc/${pid}`)),
    );
  });
});
