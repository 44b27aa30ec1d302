// Evaluating Nix network files with nix-instantiate. All inputs go through JSON files whose paths are the only
// arguments, so nothing from a spec reaches Nix source or a shell.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import type { InfraFacts, PhysicalView, SystemRef } from '../core/model.js';
import type { EvaluateOptions, Evaluator, Logger, NetworkSource } from '../core/ports.js';
import { runProcess, type Runner } from '../util/exec.js';
import { cleanNixError, lineSplitter } from '../util/text.js';
import type { KeySpec } from '../core/model.js';
import { checkHostEntries, checkKeys, checkPhysical, checkSystems, type HostEntry } from './shapes.js';

export type { HostEntry } from './shapes.js';
import { networkDir, restrictedArgs, restrictedEnv } from './restrict.js';
import { EvalMemory, evaluateInBatches } from './batches.js';
import { watchPeak } from './peak-rss.js';

/** What all of a deployment's evaluation processes may hold at once, unless told otherwise: a 2 GiB controller. */
export const DEFAULT_EVAL_MEMORY = 2 ** 30;
/** nix-instantiate processes at once, unless told otherwise. */
export const DEFAULT_EVAL_WORKERS = 2;

/** The repository's nix/ directory (this module runs from dist/src/spec/). */
export const NIX_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../nix');

export interface NixEvaluatorOptions {
  /** Where the JSON argument files are written (a fresh subdirectory per call, removed afterwards). */
  scratchDir: string;
  runner?: Runner;
  nixDir?: string;
  /** Path of nix-instantiate; default from PATH. */
  nixInstantiate?: string;
  timeoutMs?: number;
  /** Pass --show-trace (longer messages, for debugging a network). */
  showTrace?: boolean;
  /**
   * Evaluate as Nix's restricted mode allows, for networks from untrusted hands: only the network's directory, the
   * call's argument files and the Nix library may be read, no URI fetched, and nix-instantiate runs with PATH, an
   * empty HOME and the Nix settings of `env` only. Off by default (the CLI's user owns the machine).
   */
  restrictEval?: boolean;
  /** The environment nix-instantiate inherits (restricted mode keeps only the Nix settings). Default: this process's. */
  env?: NodeJS.ProcessEnv;
  /**
   * Bytes of RSS the processes evaluating one deployment's systems may hold together (default 1 GiB; Infinity:
   * one process for all machines). A deployment's spec.evaluation.memoryBudget lowers it.
   */
  memoryBudget?: number;
  /** Processes evaluating systems at once (default 2), fewer when the budget holds fewer. */
  workers?: number;
  /** What batches cost, learned per deployment; shared by the evaluator's restricted form. */
  memory?: EvalMemory;
  /** Hears the warning about a machine whose evaluation alone exceeds the budget. */
  log?: Logger;
}

interface EvaluateExtra {
  facts?: InfraFacts;
  only?: string[];
  writeDerivations?: boolean;
  option?: string[];
  hostEntries?: Record<string, HostEntry>;
  signal?: AbortSignal;
  /** Told the process's peak RSS once it is done. */
  onPeak?: (bytes: number | undefined) => void;
  /** Told every path of the network the process read (restricted mode only: Nix names them at debug level). */
  onReads?: (paths: string[]) => void;
}

/** How many machines an evaluation that traces its reads puts in one process at most: see `systemsAndReads`. */
export const TRACED_BATCH = { alone: 8, max: 32 };

/**
 * The largest batch when `count` machines are evaluated with their reads traced: one per process for a few, else
 * the square root of their number, at most `TRACED_BATCH.max`. A later change to one machine's files re-evaluates
 * its batch, which is split so again: 1,000 machines, then 32, then 6, then the one alone.
 */
export function tracedBatch(count: number): number {
  return count <= TRACED_BATCH.alone ? 1 : Math.min(TRACED_BATCH.max, Math.ceil(Math.sqrt(count)));
}

/** What some machines evaluated to, and for each the paths of the network that its evaluation read. */
export interface WithReads<T> {
  values: Record<string, T>;
  reads: Record<string, string[]>;
}

/**
 * An evaluator that can say what each machine's evaluation read, by parts (the names, the physical view's own part
 * and each machine's, each machine's host entry and system), for the evaluation cache to keep machine by machine.
 */
export interface ReadTracer {
  readonly tracesReads: boolean;
  namesAndReads(src: NetworkSource, options?: EvaluateOptions): Promise<{ names: string[]; reads: string[] }>;
  physicalNetworkAndReads(
    src: NetworkSource,
    options?: EvaluateOptions,
  ): Promise<{ value: Pick<PhysicalView, 'description' | 'resources'>; reads: string[] }>;
  physicalMachinesAndReads(
    src: NetworkSource,
    machines: string[],
    options?: EvaluateOptions,
  ): Promise<WithReads<PhysicalView['machines'][string]>>;
  hostEntriesAndReads(
    src: NetworkSource,
    facts: InfraFacts,
    machines: string[],
    options?: EvaluateOptions,
  ): Promise<WithReads<HostEntry>>;
  systemsAndReads(
    src: NetworkSource,
    facts: InfraFacts,
    machines: string[],
    entries: Record<string, HostEntry>,
    options?: EvaluateOptions,
  ): Promise<WithReads<SystemRef>>;
}

/** `e` as a ReadTracer, when it is one that can trace (a restricted NixEvaluator, or a wrapper of one). */
export function readTracer(e: Evaluator): ReadTracer | undefined {
  return (e as Partial<ReadTracer>).tracesReads === true ? (e as unknown as ReadTracer) : undefined;
}

/** One batch's nix-instantiate: told its peak RSS, and with `onReads`, what it read. */
type BatchRun = (
  batch: string[],
  signal: AbortSignal,
  onPeak: (bytes: number | undefined) => void,
  onReads?: (paths: string[]) => void,
) => Promise<unknown>;

/** The line Nix's restricted mode writes at debug level for each path an evaluation reads (once per process). */
const ACCESS_LINE = /^checking access to '(.*)'$/;
/** Other lines of nix-instantiate's debug level, left out of error messages. */
const DEBUG_LINE =
  /^(checking access to|evaluating file|copied source|resolved search path element|acquiring|releasing|performing daemon worker op|got |opening |connecting |querying |reading |writing |downloading |starting )/;

/**
 * The arguments of one nix-instantiate of `attr` of eval-network.nix in `nixDir`, with its inputs written as JSON
 * files into `dir`.
 */
export async function instantiateArgs(
  nixDir: string,
  dir: string,
  src: NetworkSource,
  attr: string,
  extra: Pick<EvaluateExtra, 'facts' | 'only' | 'option' | 'writeDerivations' | 'hostEntries'> & {
    restrict?: boolean;
    showTrace?: boolean;
    /** Nix's debug level, whose lines name what a restricted evaluation reads. */
    debug?: boolean;
  },
): Promise<string[]> {
  const write = async (name: string, value: unknown) => {
    const file = join(dir, name);
    await writeFile(file, JSON.stringify(value));
    return file;
  };
  const args = [
    ...(extra.restrict ? restrictedArgs({ network: networkDir(src), eval: dir, lib: nixDir }) : []),
    '--eval',
    '--strict',
    '--json',
    ...(extra.writeDerivations ? ['--read-write-mode'] : []),
    ...(extra.showTrace ? ['--show-trace'] : []),
    ...(extra.debug ? ['--debug'] : []),
    join(nixDir, 'eval-network.nix'),
    ...['--argstr', 'networkFiles', await write('network-files.json', src.files)],
    ...['--argstr', 'argsFile', await write('args.json', src.args)],
    ...['--argstr', 'builder', src.builder],
    ...['-A', attr],
  ];
  if (extra.facts) args.push('--argstr', 'factsFile', await write('facts.json', extra.facts));
  if (extra.only) args.push('--argstr', 'onlyFile', await write('only.json', extra.only));
  if (extra.option) args.push('--argstr', 'optionFile', await write('option.json', extra.option));
  if (extra.hostEntries) {
    args.push('--argstr', 'hostEntriesFile', await write('host-entries.json', extra.hostEntries));
  }
  return args;
}

export class NixEvaluator implements Evaluator, ReadTracer {
  private readonly runner: Runner;
  private readonly nixDir: string;
  private readonly nixInstantiate: string;
  private readonly memory: EvalMemory;

  constructor(private readonly options: NixEvaluatorOptions) {
    this.runner = options.runner ?? runProcess;
    this.nixDir = options.nixDir ?? NIX_DIR;
    this.nixInstantiate = options.nixInstantiate ?? 'nix-instantiate';
    this.memory = options.memory ?? new EvalMemory();
  }

  /** The same evaluator in restricted mode. */
  restricted(): NixEvaluator {
    return new NixEvaluator({ ...this.options, memory: this.memory, restrictEval: true });
  }

  get isRestricted(): boolean {
    return this.options.restrictEval === true;
  }

  async physical(src: NetworkSource): Promise<PhysicalView> {
    const onPeak = (peak: number | undefined) => {
      if (peak !== undefined) this.memory.recordBase(src.deployment, peak);
    };
    return checkPhysical(await this.evaluate(src, 'physical', { onPeak }));
  }

  /** The budget a deployment's evaluation gets: the smaller of the evaluator's and the spec's. */
  budgetOf(src: NetworkSource): number {
    return Math.min(this.options.memoryBudget ?? DEFAULT_EVAL_MEMORY, src.memoryBudget ?? Infinity);
  }

  /** The systems of the given machines, in batches that together stay under the budget (batches.ts). */
  async systems(
    src: NetworkSource,
    facts: InfraFacts,
    machines: string[],
    options: EvaluateOptions = {},
  ): Promise<Record<string, SystemRef>> {
    const run: BatchRun = (batch, signal, onPeak) =>
      this.evaluate(src, 'systems', { facts, only: batch, writeDerivations: true, signal, onPeak });
    return (await this.inBatches(src, machines, options, false, run, checkSystems)).values;
  }

  /** Whether the `...AndReads` methods can say what each machine read: only a restricted evaluation's Nix names it. */
  get tracesReads(): boolean {
    return this.isRestricted;
  }

  /** The physical view's own part of the network (description and resources), and what it read (restricted only). */
  async physicalNetworkAndReads(
    src: NetworkSource,
    options: EvaluateOptions = {},
  ): Promise<{ value: Pick<PhysicalView, 'description' | 'resources'>; reads: string[] }> {
    this.mustTrace();
    let reads: string[] = [];
    const raw = await this.evaluate(src, 'physicalNetwork', {
      ...(options.signal ? { signal: options.signal } : {}),
      onPeak: (peak) => {
        if (peak !== undefined) this.memory.recordBase(src.deployment, peak);
      },
      onReads: (paths) => (reads = paths),
    });
    const { description, resources } = checkPhysical({ ...(raw as object), machines: {} });
    return { value: { description, resources }, reads };
  }

  /** The physical view of the given machines, and what each one's read (restricted only). */
  async physicalMachinesAndReads(
    src: NetworkSource,
    machines: string[],
    options: EvaluateOptions = {},
  ): Promise<WithReads<PhysicalView['machines'][string]>> {
    this.mustTrace();
    const run: BatchRun = (batch, signal, onPeak, onReads) =>
      this.evaluate(src, 'physicalMachines', {
        only: batch,
        signal,
        onPeak,
        ...(onReads ? { onReads } : {}),
      });
    const check = (raw: unknown, batch: string[]) => {
      const view = checkPhysical({ description: '', resources: {}, machines: raw });
      return Object.fromEntries(
        batch.map((m) => {
          const p = view.machines[m];
          if (!p)
            throw new ReconixError(
              Reason.EvaluationFailed,
              `the evaluator returned no physical view of ${JSON.stringify(m)}`,
            );
          return [m, p];
        }),
      );
    };
    return this.inBatches(src, machines, options, true, run, check);
  }

  /** The network's machines, and what evaluating their names read (restricted only). */
  async namesAndReads(
    src: NetworkSource,
    options: EvaluateOptions = {},
  ): Promise<{ names: string[]; reads: string[] }> {
    this.mustTrace();
    let reads: string[] = [];
    const raw = await this.evaluate(src, 'names', {
      ...(options.signal ? { signal: options.signal } : {}),
      onReads: (paths) => (reads = paths),
    });
    if (!Array.isArray(raw) || !raw.every((n) => typeof n === 'string')) {
      throw new ReconixError(
        Reason.EvaluationFailed,
        `evaluating ${src.deployment}: names are not a list of strings`,
      );
    }
    return { names: raw as string[], reads };
  }

  /**
   * The host entries of the given machines (`hostEntries` of eval-network.nix), and what each one's read. Evaluating
   * them evaluates the machine's addresses and host key; given to `systemsAndReads`, they spare each machine's
   * evaluation doing that for every other machine, so that what it reads is its own.
   */
  async hostEntriesAndReads(
    src: NetworkSource,
    facts: InfraFacts,
    machines: string[],
    options: EvaluateOptions = {},
  ): Promise<WithReads<HostEntry>> {
    this.mustTrace();
    const run: BatchRun = (batch, signal, onPeak, onReads) =>
      this.evaluate(src, 'hostEntries', {
        facts,
        only: batch,
        signal,
        onPeak,
        ...(onReads ? { onReads } : {}),
      });
    return this.inBatches(src, machines, options, true, run, checkHostEntries);
  }

  /**
   * The systems of the given machines, with every machine's host `entries`, and what each one's evaluation read of
   * the network. Nix names a path once per process, whichever machine read it first, so each machine is given all
   * that its process read: a few machines (`TRACED_BATCH.alone`) are evaluated one per process, which tells exactly
   * what each read, and more are split into smaller batches (`tracedBatch`), so that a change to one machine's files
   * later re-evaluates its batch, and in a few changes that one alone. Restricted only (`tracesReads`).
   */
  async systemsAndReads(
    src: NetworkSource,
    facts: InfraFacts,
    machines: string[],
    entries: Record<string, HostEntry>,
    options: EvaluateOptions = {},
  ): Promise<WithReads<SystemRef>> {
    this.mustTrace();
    const run: BatchRun = (batch, signal, onPeak, onReads) =>
      this.evaluate(src, 'systems', {
        facts,
        only: batch,
        writeDerivations: true,
        hostEntries: entries,
        signal,
        onPeak,
        ...(onReads ? { onReads } : {}),
      });
    return this.inBatches(src, machines, options, true, run, checkSystems);
  }

  private mustTrace(): void {
    if (!this.tracesReads) throw new Error('only a restricted evaluation names what it reads');
  }

  private async inBatches<T>(
    src: NetworkSource,
    machines: string[],
    options: EvaluateOptions,
    trace: boolean,
    run: BatchRun,
    check: (raw: unknown, batch: string[]) => Record<string, T>,
  ): Promise<WithReads<T>> {
    const reads: Record<string, string[]> = {};
    if (machines.length === 0) return { values: {}, reads };
    const values = await evaluateInBatches({
      deployment: src.deployment,
      machines,
      budget: this.budgetOf(src),
      workers: this.options.workers ?? DEFAULT_EVAL_WORKERS,
      memory: this.memory,
      log: this.options.log,
      signal: options.signal,
      ...(trace ? { maxBatch: tracedBatch(machines.length) } : {}),
      run: async (batch, signal) => {
        let peak: number | undefined;
        const raw = await run(
          batch,
          signal,
          (p) => (peak = p),
          trace ? (paths) => batch.forEach((m) => (reads[m] = paths)) : undefined,
        );
        return { value: check(raw, batch), peak };
      },
    });
    return { values, reads };
  }

  /** deployment.keys of the given machines, contents included: for the key deployer only, never to be logged. */
  async keys(src: NetworkSource, machines: string[]): Promise<Record<string, Record<string, KeySpec>>> {
    if (machines.length === 0) return {};
    return checkKeys(await this.evaluate(src, 'keys', { only: machines }), machines);
  }

  /** config.<option> of a machine, as JSON (`reconix show-option`). */
  async option(src: NetworkSource, facts: InfraFacts, machine: string, option: string[]): Promise<unknown> {
    const raw = await this.evaluate(src, 'option', { facts, only: [machine], option });
    return (raw as Record<string, unknown>)[machine];
  }

  private async evaluate(src: NetworkSource, attr: string, extra: EvaluateExtra): Promise<unknown> {
    await mkdir(this.options.scratchDir, { recursive: true });
    const dir = await mkdtemp(join(this.options.scratchDir, 'eval-'));
    try {
      const restrict = this.options.restrictEval === true;
      const home = join(dir, 'home');
      if (restrict) await mkdir(home);
      const args = await instantiateArgs(this.nixDir, dir, src, attr, {
        ...extra,
        restrict,
        showTrace: this.options.showTrace === true,
        debug: restrict && extra.onReads !== undefined,
      });
      const env = this.options.env ?? process.env;
      let watch: ReturnType<typeof watchPeak> | undefined;
      const reads = extra.onReads ? readCollector() : undefined;
      const result = await this.runner(this.nixInstantiate, args, {
        ...(reads ? { onStderr: (chunk: Buffer) => reads.push(chunk) } : {}),
        ...(this.options.timeoutMs === undefined ? {} : { timeoutMs: this.options.timeoutMs }),
        ...(restrict ? { env: restrictedEnv(env, home, dir) } : this.options.env ? { env } : {}),
        ...(extra.signal ? { signal: extra.signal } : {}),
        ...(extra.onPeak ? { onSpawn: (pid: number) => (watch = watchPeak(pid)) } : {}),
      })
        .finally(async () => extra.onPeak?.(await watch?.stop()))
        .catch((cause: unknown) => {
          throw new ReconixError(
            Reason.EvaluationFailed,
            `cannot run ${this.nixInstantiate}: ${String(cause)}`,
            {
              cause,
            },
          );
        });
      if (extra.signal?.aborted) {
        throw new ReconixError(Reason.Cancelled, `evaluating ${src.deployment} (${attr}) was stopped`, {
          reaction: 'retry',
        });
      }
      if (result.timedOut) {
        const s = Math.round((this.options.timeoutMs ?? 0) / 1000);
        throw new ReconixError(
          Reason.EvaluationTimeout,
          `evaluating ${src.deployment} (${attr}) did not finish within ${s} s (--evaluation-timeout); nix-instantiate was stopped`,
          { reaction: 'retry' },
        );
      }
      const stderr = extra.onReads ? withoutDebug(result.stderr) : result.stderr;
      if (result.exitCode !== 0) {
        throw new ReconixError(
          Reason.EvaluationFailed,
          `evaluating ${src.deployment} failed: ${cleanNixError(stderr)}`,
          { reaction: 'stall' },
        );
      }
      if (extra.onReads && reads) extra.onReads(reads.paths([dir, this.nixDir]));
      try {
        return JSON.parse(result.stdout) as unknown;
      } catch (cause) {
        throw new ReconixError(Reason.EvaluationFailed, `evaluating ${src.deployment}: output is not JSON`, {
          cause,
        });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** nix-instantiate's messages without the lines of its debug level. */
function withoutDebug(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => !DEBUG_LINE.test(l))
    .join('\n');
}

/**
 * The paths a restricted evaluation read, from its debug lines, less those under `own` (the call's argument files
 * and Reconix's Nix library, which the cache key covers as a whole) and their real paths.
 */
export function networkReads(stderr: string, own: readonly string[]): string[] {
  const reads = readCollector();
  reads.push(Buffer.from(stderr));
  return reads.paths(own);
}

/**
 * Collects the paths named by a restricted evaluation's debug lines as its stderr streams, all of them: the stderr
 * kept for messages is bounded and may lose its middle, which would lose reads.
 */
function readCollector(): { push(chunk: Buffer): void; paths(own: readonly string[]): string[] } {
  const seen = new Set<string>();
  const split = lineSplitter((line) => {
    const m = ACCESS_LINE.exec(line);
    if (m) seen.add(m[1]!);
  });
  return {
    push: (chunk) => split.push(chunk),
    paths(own) {
      split.end();
      const dirs = new Set<string>();
      for (const d of own) {
        dirs.add(d);
        try {
          dirs.add(realpathSync(d));
        } catch {
          // Gone already: its own name is enough.
        }
      }
      const inOwn = (p: string) => [...dirs].some((d) => p === d || p.startsWith(d + sep));
      return [...seen].filter((p) => !inOwn(p)).sort();
    },
  };
}
