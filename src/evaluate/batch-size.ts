// How many machines the next nix-instantiate evaluates: pure arithmetic over what the earlier batches of the
// deployment cost. A process costs a base (Nix, the network, the module system) plus a share per machine; the
// batches in flight together stay under the budget.

/** Machines of the first batch, evaluated alone, while nothing is known of what a machine costs. */
export const START_BATCH = 1;
/** The share of the budget batches are planned to fill: peaks vary with when Nix's collector runs. */
export const HEADROOM = 0.9;
/** A batch is at most this many times the largest one measured: the cost per machine is not quite linear. */
export const GROWTH = 2;
/** Batches of at least 1/LARGE_BATCH_FRACTION of the largest one measured tell the share of a machine. */
export const LARGE_BATCH_FRACTION = 4;

/** What evaluation costs in one deployment, in bytes of peak RSS. */
export interface MemoryCost {
  base: number;
  perMachine: number;
  /** The largest batch measured. */
  largestBatch: number;
  /** The base was measured or fitted through two batch sizes; until then a second size is measured alone. */
  fitted: boolean;
}

/** One finished batch: how many machines, and the process's peak RSS. */
export interface Observation {
  size: number;
  peak: number;
}

export interface BatchRequest {
  budget: number;
  /** Processes allowed at once. */
  workers: number;
  /** Machines not yet given to a batch. */
  remaining: number;
  /** Sizes of the batches in flight. */
  running: readonly number[];
  cost?: MemoryCost | undefined;
}

/** The next batch: 0 machines means wait for one in flight; oversize, that one machine alone exceeds the budget. */
export interface BatchPlan {
  size: number;
  oversize: boolean;
}

const WAIT: BatchPlan = { size: 0, oversize: false };

export function planBatch(r: BatchRequest): BatchPlan {
  if (r.remaining <= 0 || r.workers < 1) return WAIT;
  if (!Number.isFinite(r.budget)) return r.running.length > 0 ? WAIT : { size: r.remaining, oversize: false };
  const cost = r.cost;
  if (cost === undefined) {
    return r.running.length > 0 ? WAIT : { size: Math.min(START_BATCH, r.remaining), oversize: false };
  }
  if (!cost.fitted) {
    return r.running.length > 0
      ? WAIT
      : { size: Math.min(GROWTH * Math.max(cost.largestBatch, 1), r.remaining), oversize: false };
  }
  const usable = r.budget * HEADROOM;
  const workers = bestWorkers(r, cost, usable);
  if (workers < 1) return r.running.length > 0 ? WAIT : { size: 1, oversize: true };
  if (r.running.length >= workers) return WAIT;
  const inFlight = r.running.reduce((sum, n) => sum + cost.base + cost.perMachine * n, 0);
  const free = Math.floor((usable - inFlight - cost.base) / cost.perMachine);
  const spread = Math.ceil(r.remaining / Math.max(1, workers - r.running.length));
  const size = Math.min(batchFor(r, cost, usable, workers), free, spread);
  return size >= 1 ? { size, oversize: false } : WAIT;
}

/** The batch each of `workers` processes gets: its share of the budget, grown by at most GROWTH. */
function batchFor(r: BatchRequest, cost: MemoryCost, usable: number, workers: number): number {
  const fair = Math.floor((usable / workers - cost.base) / cost.perMachine);
  return Math.min(
    fair,
    GROWTH * Math.max(cost.largestBatch, 1),
    // The rest is shared among the processes not yet busy: dividing it among all of them again at every plan
    // would end a large evaluation in a tail of ever smaller batches, each paying the whole network's base.
    Math.ceil(r.remaining / Math.max(1, workers - r.running.length)),
    r.remaining,
  );
}

/**
 * How many processes to run at once: the number that evaluates the most machines per unit of cost, taking a
 * process's time to go as its memory does. When the base is most of a process (a large network: every machine's
 * process reads every node), one process with a large batch beats two with a machine each; 0 when even one
 * machine alone does not fit.
 */
function bestWorkers(r: BatchRequest, cost: MemoryCost, usable: number): number {
  let best = 0;
  let bestRate = 0;
  for (let w = 1; w <= r.workers; w++) {
    const size = batchFor(r, cost, usable, w);
    if (size < 1) break;
    const rate = (w * size) / (cost.base + cost.perMachine * size);
    if (rate >= bestRate) [best, bestRate] = [w, rate];
  }
  return best;
}

/**
 * The cost learned from finished batches. The base is the larger of the physical evaluation's peak (the network
 * without any machine's system) and the intercept of a least-squares line through the batches (two sizes at
 * least), whichever are known, else 0; never more than the smallest peak (a large network's physical view costs
 * more than a batch).
 * The share per machine is the largest that the larger batches imply over that base (those of at least a quarter
 * of the largest), so each of them would have been planned at or above its peak.
 */
export function learnCost(observations: readonly Observation[], knownBase?: number): MemoryCost | undefined {
  const measured = observations.filter((o) => o.size > 0 && o.peak > 0);
  if (measured.length === 0) return undefined;
  // A larger batch never costs less: a peak under a smaller batch's was missed (the process ended between two
  // samples of /proc), so it is raised to that one.
  const seen = measured.map((o) => ({
    size: o.size,
    peak: Math.max(...measured.filter((m) => m.size <= o.size).map((m) => m.peak)),
  }));
  const lowest = Math.min(...seen.map((o) => o.peak));
  const sizes = new Set(seen.map((o) => o.size)).size;
  const fitted = knownBase !== undefined || sizes >= 2;
  // A systems process can cost more than the physical one before its first machine (every node's addresses and
  // keys, for the hosts and known-hosts files): where the batches show that larger base, it is taken, or each
  // small batch would seem to cost that difference per machine.
  const line = sizes >= 2 ? intercept(seen) : undefined;
  const base = Math.max(0, Math.min(Math.max(knownBase ?? 0, line ?? 0), lowest));
  // The share per machine is read from the larger batches: in a batch of a few machines, the peak's noise (when
  // Nix's collector ran) is larger than their share, and would hold every later batch to a few machines.
  const largestBatch = Math.max(...seen.map((o) => o.size));
  const large = seen.filter((o) => o.size * LARGE_BATCH_FRACTION >= largestBatch);
  const perMachine = Math.max(1, ...large.map((o) => (o.peak - base) / o.size));
  return { base, perMachine, largestBatch, fitted };
}

function intercept(seen: readonly Observation[]): number {
  const n = seen.length;
  const mx = seen.reduce((s, o) => s + o.size, 0) / n;
  const my = seen.reduce((s, o) => s + o.peak, 0) / n;
  const sxx = seen.reduce((s, o) => s + (o.size - mx) ** 2, 0);
  if (sxx === 0) return 0;
  const slope = seen.reduce((s, o) => s + (o.size - mx) * (o.peak - my), 0) / sxx;
  return my - slope * mx;
}
