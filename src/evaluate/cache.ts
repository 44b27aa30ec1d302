// An evaluation cache: when nothing an evaluation reads has changed, its result is taken from the last run, so
// a resync of an unchanged deployment evaluates nothing. Kept per deployment in a side file of the state dir.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { InfraFacts, PhysicalView, SystemRef } from '../core/model.js';
import type { EvaluateOptions, Evaluator, LocalStore, Logger, NetworkSource } from '../core/ports.js';
import { runProcess, type Runner } from '../util/exec.js';
import {
  evalCacheKey,
  nixPathEntries,
  resolveNixPath,
  treeDigest,
  Uncacheable,
  type KeyParts,
} from './cache-key.js';
import { NIX_DIR, NixEvaluator } from './evaluator.js';

/** How many results one deployment's cache file keeps (the most recently used first). */
export const CACHE_ENTRIES = 8;

export interface EvalCacheOptions {
  /** Where the cache files are (one per deployment). */
  dir: string;
  /** Directories never digested as part of a source (the state dir, when a manifest's directory holds it). */
  skip?: readonly string[];
  /** Where a cached system's derivation must still be, for the result to be used. */
  store: Pick<LocalStore, 'validPaths'>;
  log: Logger;
  nixDir?: string;
  nixInstantiate?: string;
  runner?: Runner;
  /** The environment whose NIX_PATH the evaluation sees. Default: this process's. */
  env?: NodeJS.ProcessEnv;
}

interface Entry {
  key: string;
  value: unknown;
}

/**
 * An Evaluator that answers `physical` and `systems` from the cache when their key is unchanged, and otherwise
 * asks `inner` and stores the answer. Keys are never cached (their contents are secrets), nor `option`. A cached
 * system whose derivation the local store lost is evaluated again.
 */
export class CachingEvaluator implements Evaluator {
  readonly keys?: NonNullable<Evaluator['keys']>;
  readonly option?: NonNullable<Evaluator['option']>;
  private nixVersion: Promise<string> | undefined;
  private readonly bypassed = new Set<string>();

  constructor(
    readonly inner: Evaluator,
    private readonly options: EvalCacheOptions,
  ) {
    if (inner.keys) this.keys = inner.keys.bind(inner);
    if (inner.option) this.option = inner.option.bind(inner);
  }

  /** The same cache over the restricted form of the inner evaluator. */
  restricted(): CachingEvaluator {
    return this.over(this.inner instanceof NixEvaluator ? this.inner.restricted() : this.inner);
  }

  /** The same cache (files and options) in front of another evaluator. */
  over(inner: Evaluator): CachingEvaluator {
    return new CachingEvaluator(inner, this.options);
  }

  async physical(src: NetworkSource): Promise<PhysicalView> {
    const key = await this.key(src, { kind: 'physical' });
    const hit = key === undefined ? undefined : await this.lookup(src.deployment, key);
    if (hit !== undefined) return hit as PhysicalView;
    const value = await this.inner.physical(src);
    if (key !== undefined) await this.store(src.deployment, key, value);
    return value;
  }

  async systems(
    src: NetworkSource,
    facts: InfraFacts,
    machines: string[],
    options?: EvaluateOptions,
  ): Promise<Record<string, SystemRef>> {
    if (machines.length === 0) return {};
    const key = await this.key(src, { kind: 'systems', facts, machines });
    const hit = key === undefined ? undefined : await this.lookup(src.deployment, key);
    if (hit !== undefined) {
      const refs = hit as Record<string, SystemRef>;
      const drvs = Object.values(refs).map((r) => r.drvPath);
      const valid = await this.options.store.validPaths(drvs);
      // A lost outPath is built again from its derivation by the apply; a lost derivation needs an evaluation.
      if (drvs.every((d) => valid.has(d))) return refs;
    }
    const value = await this.inner.systems(src, facts, machines, options);
    if (key !== undefined) await this.store(src.deployment, key, value);
    return value;
  }

  /** The key of one evaluation, or undefined (with a line in the log, once) when it cannot be cached. */
  private async key(
    src: NetworkSource,
    extra: Pick<KeyParts, 'kind' | 'facts' | 'machines'>,
  ): Promise<string | undefined> {
    const env = this.options.env ?? process.env;
    try {
      const roots = src.root ? [src.root] : [...new Set(src.files.map((f) => path.dirname(f)))];
      const user = os.userInfo().username;
      return evalCacheKey({
        ...extra,
        tree: await treeDigest(roots, this.options.skip),
        files: src.files,
        args: src.args,
        builder: src.builder,
        nixLib: await treeDigest([this.options.nixDir ?? NIX_DIR]),
        nixVersion: await this.version(),
        nixPath: await resolveNixPath(nixPathEntries(env.NIX_PATH, env.HOME ?? os.homedir(), user)),
        restricted: this.inner instanceof NixEvaluator && this.inner.isRestricted,
      });
    } catch (err) {
      if (!(err instanceof Uncacheable)) throw err;
      if (!this.bypassed.has(src.deployment)) {
        this.bypassed.add(src.deployment);
        this.options.log.info(`${src.deployment}: evaluations not cached: ${err.message}`);
      }
      return undefined;
    }
  }

  private version(): Promise<string> {
    this.nixVersion ??= (this.options.runner ?? runProcess)(
      this.options.nixInstantiate ?? 'nix-instantiate',
      ['--version'],
      { timeoutMs: 30_000 },
    ).then((r) => {
      if (r.exitCode !== 0) throw new Uncacheable('the Nix version is unknown');
      return r.stdout.trim();
    });
    return this.nixVersion;
  }

  private file(deployment: string): string {
    return path.join(this.options.dir, `${encodeURIComponent(deployment)}.json`);
  }

  private async entries(deployment: string): Promise<Entry[]> {
    try {
      const doc = JSON.parse(await fs.readFile(this.file(deployment), 'utf8')) as { entries?: unknown };
      return Array.isArray(doc.entries) ? (doc.entries as Entry[]) : [];
    } catch {
      // A missing or damaged cache is an empty one.
      return [];
    }
  }

  private async lookup(deployment: string, key: string): Promise<unknown> {
    return (await this.entries(deployment)).find((e) => e.key === key)?.value;
  }

  private async store(deployment: string, key: string, value: unknown): Promise<void> {
    const kept = (await this.entries(deployment)).filter((e) => e.key !== key);
    const doc = { version: 1, entries: [{ key, value }, ...kept].slice(0, CACHE_ENTRIES) };
    await fs.mkdir(this.options.dir, { recursive: true, mode: 0o700 });
    const file = this.file(deployment);
    const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await fs.writeFile(tmp, JSON.stringify(doc), { mode: 0o600 });
    await fs.rename(tmp, file);
  }
}
