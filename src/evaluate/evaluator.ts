// Evaluating Nix network files with nix-instantiate. All inputs go through JSON files whose paths are the only
// arguments, so nothing from a spec reaches Nix source or a shell.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import type { InfraFacts, PhysicalView, SystemRef } from '../core/model.js';
import type { EvaluateOptions, Evaluator, Logger, NetworkSource } from '../core/ports.js';
import { runProcess, type Runner } from '../util/exec.js';
import { cleanNixError } from '../util/text.js';
import type { KeySpec } from '../core/model.js';
import { checkKeys, checkPhysical, checkSystems } from './shapes.js';
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
  signal?: AbortSignal;
  /** Told the process's peak RSS once it is done. */
  onPeak?: (bytes: number | undefined) => void;
}

/**
 * The arguments of one nix-instantiate of `attr` of eval-network.nix in `nixDir`, with its inputs written as JSON
 * files into `dir`.
 */
export async function instantiateArgs(
  nixDir: string,
  dir: string,
  src: NetworkSource,
  attr: string,
  extra: Pick<EvaluateExtra, 'facts' | 'only' | 'option' | 'writeDerivations'> & {
    restrict?: boolean;
    showTrace?: boolean;
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
    join(nixDir, 'eval-network.nix'),
    ...['--argstr', 'networkFiles', await write('network-files.json', src.files)],
    ...['--argstr', 'argsFile', await write('args.json', src.args)],
    ...['--argstr', 'builder', src.builder],
    ...['-A', attr],
  ];
  if (extra.facts) args.push('--argstr', 'factsFile', await write('facts.json', extra.facts));
  if (extra.only) args.push('--argstr', 'onlyFile', await write('only.json', extra.only));
  if (extra.option) args.push('--argstr', 'optionFile', await write('option.json', extra.option));
  return args;
}

export class NixEvaluator implements Evaluator {
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
    if (machines.length === 0) return {};
    return evaluateInBatches({
      deployment: src.deployment,
      machines,
      budget: this.budgetOf(src),
      workers: this.options.workers ?? DEFAULT_EVAL_WORKERS,
      memory: this.memory,
      log: this.options.log,
      signal: options.signal,
      run: async (batch, signal) => {
        let peak: number | undefined;
        const raw = await this.evaluate(src, 'systems', {
          facts,
          only: batch,
          writeDerivations: true,
          signal,
          onPeak: (p) => (peak = p),
        });
        return { value: checkSystems(raw, batch), peak };
      },
    });
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
      });
      const env = this.options.env ?? process.env;
      let watch: ReturnType<typeof watchPeak> | undefined;
      const result = await this.runner(this.nixInstantiate, args, {
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
      if (result.exitCode !== 0) {
        throw new ReconixError(
          Reason.EvaluationFailed,
          `evaluating ${src.deployment} failed: ${cleanNixError(result.stderr)}`,
          { reaction: 'stall' },
        );
      }
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
