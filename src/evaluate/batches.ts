// Evaluating many machines' systems as nix-eval-jobs does: in batches of a few machines per nix-instantiate, with
// several processes at once, sized from what earlier batches of the same deployment measured so that all the
// processes in flight stay under a memory budget.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import { formatSize } from '../util/size.js';
import { learnCost, planBatch, type MemoryCost, type Observation } from './batch-size.js';

/** Batches remembered per deployment: the recent ones tell the cost of the network as it is now. */
const KEPT = 16;

/** What one deployment's evaluations cost, as remembered between processes. */
interface Remembered {
  base?: number;
  batches: Observation[];
}

const isObservation = (o: unknown): o is Observation =>
  typeof o === 'object' &&
  o !== null &&
  Number.isInteger((o as Observation).size) &&
  (o as Observation).size > 0 &&
  Number.isFinite((o as Observation).peak) &&
  (o as Observation).peak > 0;

/**
 * What evaluations of each deployment cost, learned as they run. With a directory, also kept there (one small file
 * per deployment, in the evaluation cache's directory), so that the next process, a one-shot CLI run above all, starts
 * from the learned cost instead of measuring small batches again. A missing or unreadable file is only a cold start.
 */
export class EvalMemory {
  private readonly batches = new Map<string, Observation[]>();
  private readonly bases = new Map<string, number>();
  private readonly loaded = new Set<string>();

  constructor(private readonly dir?: string) {}

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

  /** Read what an earlier process remembered of `deployment`, once; what this process measured comes first. */
  async load(deployment: string): Promise<void> {
    if (!this.dir || this.loaded.has(deployment)) return;
    this.loaded.add(deployment);
    try {
      const raw = JSON.parse(await readFile(this.file(deployment), 'utf8')) as Partial<Remembered>;
      const batches = Array.isArray(raw.batches) ? raw.batches.filter(isObservation).slice(0, KEPT) : [];
      const mine = this.batches.get(deployment) ?? [];
      if (batches.length > 0) this.batches.set(deployment, [...mine, ...batches].slice(0, KEPT));
      if (!this.bases.has(deployment) && Number.isFinite(raw.base) && (raw.base ?? 0) > 0) {
        this.bases.set(deployment, raw.base!);
      }
    } catch {
      // Nothing remembered, or not readable: measure again.
    }
  }

  /** Write down what is known of `deployment` for the next process; a failure to write is not an error. */
  async save(deployment: string): Promise<void> {
    if (!this.dir) return;
    const remembered: Remembered = { batches: this.batches.get(deployment) ?? [] };
    const base = this.bases.get(deployment);
    if (base !== undefined) remembered.base = base;
    const file = this.file(deployment);
    try {
      await mkdir(this.dir, { recursive: true });
      await writeFile(`${file}.tmp`, JSON.stringify(remembered));
      await rename(`${file}.tmp`, file);
    } catch {
      // Only a cold start next time.
    }
  }

  private file(deployment: string): string {
    return join(this.dir!, `${encodeURIComponent(deployment)}.json`);
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
  /** No batch holds more machines than this, whatever the budget allows. */
  maxBatch?: number;
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
  await o.memory.load(o.deployment);
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
      const size = Math.min(plan.size, o.maxBatch ?? Infinity);
      if (size === 0) break;
      const batch = queue.splice(0, size);
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
  await o.memory.save(o.deployment);
  if (failure) throw failure.error;
  if (o.signal?.aborted) {
    throw new ReconixError(Reason.Cancelled, `evaluating ${o.deployment} was cancelled`, {
      reaction: 'retry',
    });
  }
  // In the machines' order, whichever batch finished first: plans and reports list machines in this order.
  const ordered: Record<string, T> = {};
  for (const m of o.machines) if (Object.hasOwn(result, m)) ordered[m] = result[m]!;
  return ordered;
}
