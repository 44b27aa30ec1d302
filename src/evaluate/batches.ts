// Evaluating many machines' systems as nix-eval-jobs does: in batches of a few machines per nix-instantiate, with
// several processes at once, sized from what earlier batches of the same deployment measured so that all the
// processes in flight stay under a memory budget.
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import { formatSize } from '../util/size.js';
import { learnCost, planBatch, type MemoryCost, type Observation } from './batch-size.js';

/** Batches remembered per deployment: the recent ones tell the cost of the network as it is now. */
const KEPT = 16;

/** What evaluations of each deployment cost, learned as they run (kept for the life of the process). */
export class EvalMemory {
  private readonly batches = new Map<string, Observation[]>();
  private readonly bases = new Map<string, number>();

  /** The peak of a process that evaluated the network without any system (phase 1). */
  recordBase(deployment: string, peak: number): void {
    this.bases.set(deployment, peak);
  }

  record(deployment: string, observation: Observation): void {
    const old = this.batches.get(deployment) ?? [];
    const kept = [observation, ...old].slice(0, KEPT);
    // Two sizes at least stay, or the base could no longer be fitted once the recent batches are all alike.
    const other = old.find((o) => o.size !== observation.size);
    if (other && kept.every((o) => o.size === observation.size)) kept.push(other);
    this.batches.set(deployment, kept);
  }

  cost(deployment: string): MemoryCost | undefined {
    return learnCost(this.batches.get(deployment) ?? [], this.bases.get(deployment));
  }
}

/** One batch's evaluation: its result, and the process's peak RSS when it could be read. */
export interface BatchResult<T> {
  value: Record<string, T>;
  peak: number | undefined;
}

export interface BatchOptions<T> {
  deployment: string;
  machines: readonly string[];
  budget: number;
  workers: number;
  memory: EvalMemory;
  log?: Logger | undefined;
  signal?: AbortSignal | undefined;
  /** Evaluate one batch; the signal stops it (on cancellation, or when another batch failed). */
  run(batch: string[], signal: AbortSignal): Promise<BatchResult<T>>;
}

/**
 * Every machine's result, merged from the batches. The first batch that fails stops the others (those in flight
 * are stopped, the rest never start) and its error is the evaluation's; cancellation does the same and fails with
 * Cancelled.
 */
export async function evaluateInBatches<T>(o: BatchOptions<T>): Promise<Record<string, T>> {
  const stopOthers = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, stopOthers.signal]) : stopOthers.signal;
  const queue = [...o.machines];
  const running = new Map<Promise<void>, number>();
  const result: Record<string, T> = {};
  let failure: { error: unknown } | undefined;
  const start = (batch: string[]) => {
    const done: Promise<void> = o
      .run(batch, signal)
      .then(
        (r) => {
          if (r.peak !== undefined) o.memory.record(o.deployment, { size: batch.length, peak: r.peak });
          Object.assign(result, r.value);
        },
        (error: unknown) => {
          // A batch stopped because of another's failure or a cancellation says nothing of its own.
          if (signal.aborted) return;
          failure = { error };
          stopOthers.abort();
        },
      )
      .finally(() => running.delete(done));
    running.set(done, batch.length);
  };
  for (;;) {
    while (!signal.aborted) {
      const cost = o.memory.cost(o.deployment);
      const plan = planBatch({
        budget: o.budget,
        workers: o.workers,
        remaining: queue.length,
        running: [...running.values()],
        cost,
      });
      if (plan.size === 0) break;
      const batch = queue.splice(0, plan.size);
      if (plan.oversize && cost) {
        o.log?.warn(
          `${o.deployment}: evaluating machine ${batch[0]} alone needs about ${formatSize(cost.base + cost.perMachine)}, over the evaluation memory budget of ${formatSize(o.budget)}`,
          { machine: batch[0], budgetBytes: o.budget, neededBytes: Math.round(cost.base + cost.perMachine) },
        );
      }
      start(batch);
    }
    if (running.size === 0) break;
    await Promise.race(running.keys());
  }
  if (failure) throw failure.error;
  if (o.signal?.aborted) {
    throw new ReconixError(Reason.Cancelled, `evaluating ${o.deployment} was cancelled`, {
      reaction: 'retry',
    });
  }
  return result;
}
