// Prints the summary of a benchmark run from the JSON results of closure-copy.js and rollout.js.
//   node dist/bench/summary.js RESULTS_DIR
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { megabytes, seconds } from './support/stats.js';

interface CopyResult {
  iterations: number;
  closure: { paths: number; narBytes: number };
  reconix: { medianMs: number; medianConnectMs: number };
  nixCopyClosure: { medianMs: number };
  speedRatio: number;
  met: boolean;
}

interface RolloutResult {
  hosts: number;
  maxParallel: number;
  iterations: number;
  reconix: { medianWallMs: number; medianReconcileMs: number; maxRssKiB: number };
  loop: { medianMs: number };
  parallel?: { medianMs: number };
  speedup: number;
  parallelSpeedup?: number;
  met: boolean;
  noop: { iterations: number; medianWallMs: number; medianReconcileMs: number; nixEvaluations?: number };
}

async function load<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

const verdict = (met: boolean): string => (met ? 'MET' : 'NOT MET');

async function main(): Promise<void> {
  const dir = process.argv[2] ?? '.';
  const copy = await load<CopyResult>(join(dir, 'closure-copy.json'));
  const rollout = await load<RolloutResult>(join(dir, 'rollout.json'));
  const lines = [
    '',
    `Reconix benchmarks, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'})`,
    'medians of interleaved runs; ratios are what to compare across machines',
  ];
  if (copy) {
    lines.push(
      `  closure copy (${copy.closure.paths} paths, ${megabytes(copy.closure.narBytes)}, ${copy.iterations} rounds): ` +
        `reconix ${seconds(copy.reconix.medianMs)}, nix-copy-closure ${seconds(copy.nixCopyClosure.medianMs)} ` +
        `-> ${copy.speedRatio.toFixed(2)}x its speed (target >= 0.9x) ${verdict(copy.met)}`,
    );
  } else lines.push('  closure copy: no result (failed)');
  if (rollout) {
    lines.push(
      `  rollout to ${rollout.hosts} hosts (maxParallel ${rollout.maxParallel}, ${rollout.iterations} rounds): ` +
        `reconix ${seconds(rollout.reconix.medianWallMs)} (reconcile ${seconds(rollout.reconix.medianReconcileMs)}), ` +
        `sequential loop ${seconds(rollout.loop.medianMs)} -> ${rollout.speedup.toFixed(1)}x faster ` +
        `(target >= 5x) ${verdict(rollout.speedup >= 5)}`,
      rollout.parallel && rollout.parallelSpeedup !== undefined
        ? `  the same rollout by a parallel shell baseline (xargs -P ${rollout.hosts} of nix-copy-closure + ssh switch): ` +
            `${seconds(rollout.parallel.medianMs)} -> reconix ${rollout.parallelSpeedup.toFixed(1)}x faster ` +
            `(target >= 1.5x) ${verdict(rollout.parallelSpeedup >= 1.5)}`
        : '  parallel shell baseline: no result',
      `  peak RSS of the Reconix process during the rollout: ${(rollout.reconix.maxRssKiB / 1024).toFixed(0)} MiB`,
      `  no-op redeploy of ${rollout.hosts} hosts (${rollout.noop.iterations} runs): ` +
        `${seconds(rollout.noop.medianWallMs)} (reconcile ${seconds(rollout.noop.medianReconcileMs)}), ` +
        'nothing copied, nothing activated (report and activation logs), ' +
        `${rollout.noop.nixEvaluations ?? '?'} Nix evaluations (evaluation cache)`,
    );
  } else lines.push('  rollout and no-op redeploy: no result (failed)');
  console.log(lines.join('\n'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
