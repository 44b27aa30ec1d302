// Evaluation of heavy machines in one nix-instantiate vs in batches under a memory budget, side by side: wall
// time, the peak RSS of the largest process, the largest sum of the processes running at once, and how many ran.
// Each machine builds a list of --strings strings while it is evaluated (the mini builder; nothing is built).
//   node dist/bench/eval-memory.js [--machines 100,1000] [--strings 100000,10000] [--budget 300M] [--workers 2]
//     [--json FILE]
// --strings gives one count per --machines entry (the last one for the rest): 1,000 machines of 100,000 strings
// would need some 10 GB in one process (about 11 MB per machine at 40 machines).
// "warm" is a second batched evaluation by the same evaluator, which starts from the cost it learned.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { EvalMemory } from '../src/evaluate/batches.js';
import { NixEvaluator } from '../src/evaluate/evaluator.js';
import { formatSize, parseSize } from '../src/util/size.js';
import { heavyNetwork, machineNames, ProcessWatch } from '../test/support/eval-processes.js';
import { intOption, megabytes, option, seconds, timed } from './support/stats.js';

interface Run {
  mode: 'one process' | 'batched' | 'batched, warm';
  machines: number;
  strings: number;
  ms: number;
  processes: number;
  maxPeakBytes: number;
  maxConcurrentBytes: number;
}

async function measure(
  mode: Run['mode'],
  e: (runner: ProcessWatch['runner']) => NixEvaluator,
  source: Parameters<NixEvaluator['systems']>[0],
  machines: number,
  strings: number,
): Promise<{ run: Run; systems: unknown }> {
  const watch = new ProcessWatch();
  const evaluator = e(watch.runner);
  const { value, ms } = await timed(() =>
    evaluator.systems(source, { machines: {}, resources: {} }, machineNames(machines)),
  );
  watch.stop();
  const run = {
    mode,
    machines,
    strings,
    ms,
    processes: watch.pids.length,
    maxPeakBytes: watch.maxPeak,
    maxConcurrentBytes: watch.maxConcurrentRss,
  };
  return { run, systems: value };
}

async function main(): Promise<void> {
  const sizes = option('machines', '100,1000').split(',').map(Number);
  const strings = option('strings', '100000,10000').split(',').map(Number);
  const budget = parseSize(option('budget', '300M'));
  const workers = intOption('workers', 2);
  const runs: Run[] = [];
  const load = loadavg()[0]!.toFixed(2);
  for (const [i, n] of sizes.entries()) {
    const perMachine = strings[Math.min(i, strings.length - 1)]!;
    const dir = await mkdtemp(join(tmpdir(), 'reconix-bench-eval-'));
    try {
      const { source } = await heavyNetwork(dir, { machines: n, strings: perMachine });
      const scratchDir = join(dir, 'eval');
      const one = await measure(
        'one process',
        (runner) => new NixEvaluator({ scratchDir, runner, memoryBudget: Infinity }),
        source,
        n,
        perMachine,
      );
      const memory = new EvalMemory();
      const batched = (runner: ProcessWatch['runner']) =>
        new NixEvaluator({ scratchDir, runner, memoryBudget: budget, workers, memory });
      const cold = await measure('batched', batched, source, n, perMachine);
      const warm = await measure('batched, warm', batched, source, n, perMachine);
      assert.deepEqual(cold.systems, one.systems, 'batched results differ from one process');
      assert.deepEqual(warm.systems, one.systems, 'batched results differ from one process');
      runs.push(one.run, cold.run, warm.run);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  console.log(`eval-memory: budget ${formatSize(budget)}, ${workers} workers, load ${load} at start`);
  console.log(
    'machines  strings  mode            wall time   processes  peak/process  peak at once  vs one process',
  );
  for (const r of runs) {
    const base = runs.find((o) => o.machines === r.machines && o.mode === 'one process')!;
    const ratio =
      r === base
        ? ''
        : `time x${(r.ms / base.ms).toFixed(2)}, memory x${(r.maxConcurrentBytes / base.maxConcurrentBytes).toFixed(2)}`;
    console.log(
      `${String(r.machines).padStart(8)}  ${String(r.strings).padStart(7)}  ${r.mode.padEnd(14)}  ${seconds(r.ms).padStart(9)}  ${String(r.processes).padStart(9)}  ${megabytes(r.maxPeakBytes).padStart(12)}  ${megabytes(r.maxConcurrentBytes).padStart(12)}  ${ratio}`,
    );
  }
  const json = option('json', '');
  if (json) await writeFile(json, JSON.stringify({ strings, budget, workers, load, runs }, null, 2));
}

await main();
