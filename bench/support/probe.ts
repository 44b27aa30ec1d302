// Where a reconcile spends its time: the reconciler's ports wrapped (by composition, not patching) so that every
// call records its interval. Per kind of call: how many, their summed time, and the wall time they covered.
import { performance } from 'node:perf_hooks';
import type { ReconcileDeps } from '../../src/observe/run.js';
import type { Evaluator, HostSession } from '../../src/core/ports.js';
import { CachingEvaluator } from '../../src/evaluate/cache.js';
import { readTracer, type ReadTracer } from '../../src/evaluate/evaluator.js';
import type { StateBackend } from '../../src/state/backend.js';
import type { AwsCall, AwsCallHook } from '../../src/providers/aws/index.js';

export interface PhaseSummary {
  calls: number;
  /** Summed duration of the calls (larger than wall time when they overlap). */
  sumMs: number;
  /** Wall time during which at least one call was running. */
  wallMs: number;
  /** When the first call started and the last one ended, from the probe's start. */
  fromMs: number;
  toMs: number;
}

export class Probe {
  private readonly spans = new Map<string, [number, number][]>();
  private readonly origin = performance.now();

  async time<T>(label: string, fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      this.record(label, start, performance.now());
    }
  }

  /** One call of `label` from `start` to `end` (performance.now() values). */
  record(label: string, start: number, end: number): void {
    const list = this.spans.get(label) ?? [];
    list.push([start - this.origin, end - this.origin]);
    this.spans.set(label, list);
  }

  summary(): Record<string, PhaseSummary> {
    const out: Record<string, PhaseSummary> = {};
    for (const [label, spans] of this.spans) {
      const sorted = [...spans].sort((a, b) => a[0] - b[0]);
      let wall = 0;
      let end = -Infinity;
      for (const [s, e] of sorted) {
        if (s > end) wall += e - s;
        else if (e > end) wall += e - end;
        end = Math.max(end, e);
      }
      out[label] = {
        calls: spans.length,
        sumMs: spans.reduce((t, [s, e]) => t + e - s, 0),
        wallMs: wall,
        fromMs: sorted[0]?.[0] ?? 0,
        toMs: Math.max(...spans.map((s) => s[1])),
      };
    }
    return out;
  }
}

/** Every AWS call as a phase `aws.<Command>`: what the cloud (or moto) takes, apart from the controller. */
export function awsPhases(p: Probe): AwsCallHook {
  const started = new WeakMap<AwsCall, number>();
  return {
    before: (call) => void started.set(call, performance.now()),
    after: (call) => {
      const start = started.get(call);
      if (start !== undefined) p.record(`aws.${call.command}`, start, performance.now());
    },
  };
}

function probeSession(s: HostSession, p: Probe): HostSession {
  return {
    hostKey: s.hostKey,
    observe: () => p.time('host.observe', () => s.observe()),
    missingPaths: (paths) => p.time('host.missingPaths', () => s.missingPaths(paths)),
    importPaths: (paths, source) => p.time('host.importPaths', () => s.importPaths(paths, source)),
    setProfile: (system) => p.time('host.setProfile', () => s.setProfile(system)),
    switchTo: (system, mode) => p.time('host.switchTo', () => s.switchTo(system, mode)),
    switchGeneration: (n) => p.time('host.switchGeneration', () => s.switchGeneration(n)),
    deleteGenerations: (ns) => p.time('host.deleteGenerations', () => s.deleteGenerations(ns)),
    listGenerations: () => p.time('host.listGenerations', () => s.listGenerations()),
    close: () => s.close(),
  };
}

function probeState(state: StateBackend, p: Probe): StateBackend {
  return {
    read: (name) => p.time('state.read', () => state.read(name)),
    list: () => state.list(),
    remove: (name) => state.remove(name),
    acquire: async (name, purpose) => {
      const h = await p.time('state.acquire', () => state.acquire(name, purpose));
      return {
        state: h.state,
        save: () => p.time('state.save', () => h.save()),
        release: () => p.time('state.release', () => h.release()),
      };
    },
  };
}

/**
 * Evaluations timed as `<prefix>.physical` and `<prefix>.systems`, and those of an evaluator that traces what each
 * machine read as `<prefix>.<method>`.
 */
function timedEvaluator(evaluator: Evaluator, p: Probe, prefix: string): Evaluator {
  const timed: Evaluator = {
    physical: (src) => p.time(`${prefix}.physical`, () => evaluator.physical(src)),
    systems: (src, facts, machines) =>
      p.time(`${prefix}.systems`, () => evaluator.systems(src, facts, machines)),
  };
  const tracer = readTracer(evaluator);
  if (!tracer) return timed;
  const traced: ReadTracer = {
    tracesReads: true,
    namesAndReads: (...a) => p.time(`${prefix}.namesAndReads`, () => tracer.namesAndReads(...a)),
    physicalNetworkAndReads: (...a) =>
      p.time(`${prefix}.physicalNetworkAndReads`, () => tracer.physicalNetworkAndReads(...a)),
    physicalMachinesAndReads: (...a) =>
      p.time(`${prefix}.physicalMachinesAndReads`, () => tracer.physicalMachinesAndReads(...a)),
    hostEntriesAndReads: (...a) =>
      p.time(`${prefix}.hostEntriesAndReads`, () => tracer.hostEntriesAndReads(...a)),
    systemsAndReads: (...a) => p.time(`${prefix}.systemsAndReads`, () => tracer.systemsAndReads(...a)),
  };
  return { ...timed, ...traced };
}

/**
 * The deps with every call timed. Behind the evaluation cache, `eval.*` is the cached call (a lookup on a hit) and
 * `nix.eval.*` what reaches Nix.
 */
export function probeDeps(deps: ReconcileDeps, p: Probe): ReconcileDeps {
  const { store, connector } = deps;
  const evaluator =
    deps.evaluator instanceof CachingEvaluator
      ? deps.evaluator.over(timedEvaluator(deps.evaluator.inner, p, 'nix.eval'))
      : deps.evaluator;
  return {
    ...deps,
    evaluator: timedEvaluator(evaluator, p, 'eval'),
    store: {
      realise: (drvs, rootDir) => p.time('store.realise', () => store.realise(drvs, rootDir)),
      isValid: (path) => p.time('store.isValid', () => store.isValid(path)),
      validPaths: (paths) => p.time('store.validPaths', () => store.validPaths(paths)),
      closures: (paths) => p.time('store.closures', () => store.closures(paths)),
      nar: (path) => store.nar(path),
    },
    connector: {
      connect: async (endpoint, auth, check, options) =>
        probeSession(
          await p.time('host.connect', () => connector.connect(endpoint, auth, check, options)),
          p,
        ),
    },
    state: probeState(deps.state, p),
  };
}
