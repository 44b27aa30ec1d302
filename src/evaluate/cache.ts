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
  readsDigest,
  resolveNixPath,
  treeDigest,
  Uncacheable,
  type KeyParts,
} from './cache-key.js';
import { NIX_DIR, NixEvaluator, readTracer, type HostEntry, type ReadTracer } from './evaluator.js';

/** How many results one deployment's cache file keeps (the most recently used first). */
export const CACHE_ENTRIES = 8;
/** The bytes of JSON the whole results of a file may hold beyond its newest one (`newest`). */
export const CACHE_ENTRY_BYTES = 2 * 1024 * 1024;

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
  /** Where the machines evaluated and answered from the cache are counted; shared by `over` and `restricted`. */
  counts?: EvaluationCounts;
}

/** Machines whose systems were evaluated, and those answered from the cache, per deployment since the start. */
export class EvaluationCounts {
  private readonly by = new Map<string, { evaluated: number; cached: number }>();

  add(deployment: string, evaluated: number, cached: number): void {
    const c = this.by.get(deployment) ?? { evaluated: 0, cached: 0 };
    c.evaluated += evaluated;
    c.cached += cached;
    this.by.set(deployment, c);
  }

  /** A deployment that is gone: its counts go too. */
  forget(deployment: string): void {
    this.by.delete(deployment);
  }

  entries(): [string, { evaluated: number; cached: number }][] {
    return [...this.by].map(([d, c]) => [d, { ...c }]);
  }
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
  /** Derivations found not to name a tree (`drvNames`), by the markers looked for. */
  private readonly cleanDrvs = new Set<string>();
  private readonly options: EvalCacheOptions & { counts: EvaluationCounts };

  constructor(
    readonly inner: Evaluator,
    options: EvalCacheOptions,
  ) {
    this.options = { ...options, counts: options.counts ?? new EvaluationCounts() };
    if (inner.keys) this.keys = inner.keys.bind(inner);
    if (inner.option) this.option = inner.option.bind(inner);
  }

  /** The same cache over the restricted form of the inner evaluator. */
  restricted(): CachingEvaluator {
    return this.over(this.inner instanceof NixEvaluator ? this.inner.restricted() : this.inner);
  }

  /** Machines evaluated and answered from the cache, per deployment (`reconix_system_evaluations_total`). */
  get counts(): EvaluationCounts {
    return this.options.counts;
  }

  /** The same cache (files, options and counts) in front of another evaluator. */
  over(inner: Evaluator): CachingEvaluator {
    return new CachingEvaluator(inner, this.options);
  }

  async physical(src: NetworkSource): Promise<PhysicalView> {
    const inputs = await this.inputs(src);
    const doc = inputs && (await this.read(src.deployment));
    // With an evaluator that traces reads, results are kept machine by machine only: no whole copy beside them.
    const tracing = this.tracing();
    if (inputs && doc && tracing) return this.physicalByMachine(tracing, src, inputs, doc);
    const key = inputs && evalCacheKey({ ...inputs.parts, kind: 'physical' });
    const hit = doc?.entries.find((e) => e.key === key)?.value;
    if (hit !== undefined) return hit as PhysicalView;
    const value = await this.inner.physical(src);
    if (key !== undefined) await this.store(src.deployment, doc!, { key, value });
    return value;
  }

  async systems(
    src: NetworkSource,
    facts: InfraFacts,
    machines: string[],
    options?: EvaluateOptions,
  ): Promise<Record<string, SystemRef>> {
    if (machines.length === 0) return {};
    const inputs = await this.inputs(src);
    const doc = inputs && (await this.read(src.deployment));
    const tracing = this.tracing();
    if (inputs && doc && tracing) return this.byMachine(tracing, src, facts, machines, options, inputs, doc);
    const key = inputs && evalCacheKey({ ...inputs.parts, kind: 'systems', facts, machines });
    const hit = doc?.entries.find((e) => e.key === key)?.value;
    if (hit !== undefined) {
      const refs = hit as Record<string, SystemRef>;
      const drvs = Object.values(refs).map((r) => r.drvPath);
      const valid = await this.options.store.validPaths(drvs);
      // A lost outPath is built again from its derivation by the apply; a lost derivation needs an evaluation.
      if (drvs.every((d) => valid.has(d))) {
        this.counts.add(src.deployment, 0, machines.length);
        return refs;
      }
    }
    const value = await this.inner.systems(src, facts, machines, options);
    this.counts.add(src.deployment, machines.length, 0);
    if (key !== undefined) await this.store(src.deployment, doc!, { key, value });
    return value;
  }

  /**
   * Whether a derivation, or one it is built from, names any of `markers` (the tree's path or last name): a system
   * whose evaluation put the tree's path in it holds for that path only. What was found clean is remembered.
   */
  private async drvNames(drvPath: string, markers: readonly string[]): Promise<boolean> {
    if (markers.length === 0) return false;
    const storeDir = path.dirname(drvPath);
    const input = new RegExp(
      `"(${storeDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/[0-9a-z]{32}-[^"/]+\\.drv)"`,
      'g',
    );
    const memo = `${markers.join('\0')}\0`;
    const seen = new Set<string>();
    const stack = [drvPath];
    while (stack.length > 0) {
      const drv = stack.pop()!;
      if (seen.has(drv) || this.cleanDrvs.has(memo + drv)) continue;
      seen.add(drv);
      const text = await fs.readFile(drv, 'utf8').catch(() => undefined);
      // A derivation that cannot be read is taken to name the tree: the result then holds where it was made only.
      if (text === undefined || markers.some((m) => text.includes(m))) return true;
      for (const m of text.matchAll(input)) stack.push(m[1]!);
    }
    // Bounded: a long-running controller sees new derivations with every change.
    if (this.cleanDrvs.size > 100_000) this.cleanDrvs.clear();
    for (const drv of seen) this.cleanDrvs.add(memo + drv);
    return false;
  }

  /** The inner evaluator, when it can say what each machine's evaluation read. */
  private tracing(): ReadTracer | undefined {
    return readTracer(this.inner);
  }

  /**
   * The physical view, machine by machine (see `byMachine`): the names, the network's own part (description and
   * resources), and each machine's part.
   */
  private async physicalByMachine(
    tracing: ReadTracer,
    src: NetworkSource,
    inputs: Inputs,
    doc: CacheDoc,
  ): Promise<PhysicalView> {
    const t = new Tracker(inputs, this.options.skip);
    const base = t.base({ kind: 'physical' });
    const names = await this.names(tracing, src, t, base, doc);
    let network = doc.network;
    if (!(await t.holds(network, base))) {
      const fresh = await tracing.physicalNetworkAndReads(src);
      network = { ...t.traced(base, fresh.reads, t.names(JSON.stringify(fresh.value))), value: fresh.value };
    }
    const { kept: records, stale } = await t.partition(names.names, doc.physical, base);
    const fresh = stale.length > 0 ? await tracing.physicalMachinesAndReads(src, stale) : NONE;
    for (const m of stale) {
      const view = fresh.values[m]!;
      records[m] = { ...t.traced(base, fresh.reads[m], t.names(JSON.stringify(view))), view };
    }
    const value: PhysicalView = {
      ...network!.value,
      machines: Object.fromEntries(names.names.map((m) => [m, records[m]!.view])),
    };
    // Nothing evaluated, nothing to write: the records stand as they are.
    if (names === doc.names && network === doc.network && stale.length === 0) return value;
    const sealed: Record<string, PhysicalRecord> = {};
    for (const m of names.names) sealed[m] = await t.seal(records[m]!);
    await this.store(src.deployment, doc, undefined, {
      names: await t.seal(names),
      network: await t.seal(network!),
      physical: sealed,
    });
    return value;
  }

  /** The network's machine names, from what was kept when what it read still holds. */
  private async names(
    tracing: ReadTracer,
    src: NetworkSource,
    t: Tracker,
    base: string,
    doc: CacheDoc,
    options?: EvaluateOptions,
  ): Promise<NamesRecord> {
    if (doc.names && (await t.holds(doc.names, base))) return doc.names;
    const fresh = await tracing.namesAndReads(src, options);
    return { ...t.traced(base, fresh.reads, t.names(JSON.stringify(fresh.names))), names: fresh.names };
  }

  /**
   * A deployment's systems, machine by machine. What a machine's evaluation read is kept
   * beside its result; a machine whose reads still hold what they held, with every other input the same, keeps its
   * result, and the others are evaluated again. Three results are kept so: the machines' names; each machine's host
   * entry (its /etc/hosts and known-host lines, which every system holds); each machine's system, whose inputs
   * include every machine's host entry.
   */
  private async byMachine(
    tracing: ReadTracer,
    src: NetworkSource,
    facts: InfraFacts,
    machines: string[],
    options: EvaluateOptions | undefined,
    inputs: Inputs,
    doc: CacheDoc,
  ): Promise<Record<string, SystemRef>> {
    const t = new Tracker(inputs, this.options.skip);
    const namesBase = t.base({ kind: 'physical' });
    const names = await this.names(tracing, src, t, namesBase, doc, options);
    const base = t.base({ kind: 'systems', facts });
    // Each machine's host entry.
    const { kept: hosts, stale: staleHosts } = await t.partition(names.names, doc.hosts, base);
    const freshHosts =
      staleHosts.length > 0 ? await tracing.hostEntriesAndReads(src, facts, staleHosts, options) : NONE;
    for (const m of staleHosts) {
      const entry = freshHosts.values[m]!;
      hosts[m] = { ...t.traced(base, freshHosts.reads[m], t.names(JSON.stringify(entry))), entry };
    }
    const entries = Object.fromEntries(names.names.map((m) => [m, hosts[m]!.entry]));

    // Each machine's system.
    const systemsBase = t.base({ kind: 'systems', facts: { facts, entries } });
    const held = (await t.partition(machines, doc.machines, systemsBase)).kept;
    const valid = await this.options.store.validPaths(Object.values(held).map((r) => r.ref.drvPath));
    // A kept system whose derivation is gone from the store is evaluated again.
    const kept: Record<string, SystemRef> = {};
    for (const [m, r] of Object.entries(held)) if (valid.has(r.ref.drvPath)) kept[m] = r.ref;
    const stale = machines.filter((m) => !Object.hasOwn(kept, m));
    if (stale.length === 0 && staleHosts.length === 0 && names === doc.names) {
      this.counts.add(src.deployment, 0, machines.length);
      return kept;
    }
    if (stale.length > 0) {
      this.options.log.info(
        stale.length === machines.length
          ? `${src.deployment}: evaluating all ${machines.length} machines`
          : `${src.deployment}: evaluating ${stale.length} of ${machines.length} machines; the others read nothing that changed`,
        { evaluated: stale.length, kept: machines.length - stale.length, hostEntries: staleHosts.length },
      );
    }
    const fresh =
      stale.length > 0 ? await tracing.systemsAndReads(src, facts, stale, entries, options) : NONE;
    this.counts.add(src.deployment, stale.length, machines.length - stale.length);

    const records: Record<string, MachineRecord> = {};
    for (const [m, r] of Object.entries(doc.machines)) if (r.base === systemsBase) records[m] = r;
    for (const m of stale) {
      const ref = fresh.values[m]!;
      const names = await this.drvNames(ref.drvPath, t.markers());
      records[m] = await t.seal({ ...t.traced(systemsBase, fresh.reads[m], names), ref });
    }
    const hostRecords: Record<string, HostRecord> = {};
    for (const m of names.names) hostRecords[m] = await t.seal(hosts[m]!);
    const value: Record<string, SystemRef> = {};
    for (const m of machines) value[m] = kept[m] ?? fresh.values[m]!;
    await this.store(src.deployment, doc, undefined, {
      machines: records,
      hosts: hostRecords,
      names: await t.seal(names),
    });
    return value;
  }

  /** What every evaluation of `src` reads besides its kind, machines and facts; undefined when it cannot be cached. */
  private async inputs(src: NetworkSource): Promise<Inputs | undefined> {
    const env = this.options.env ?? process.env;
    try {
      const roots = src.root ? [src.root] : [...new Set(src.files.map((f) => path.dirname(f)))];
      const user = os.userInfo().username;
      const entries = new Map<string, string>();
      const parts = {
        tree: await treeDigest(roots, this.options.skip, entries),
        files: src.files,
        args: src.args,
        builder: src.builder,
        nixLib: await treeDigest([this.options.nixDir ?? NIX_DIR]),
        nixVersion: await this.version(),
        nixPath: await resolveNixPath(nixPathEntries(env.NIX_PATH, env.HOME ?? os.homedir(), user)),
        restricted: this.inner instanceof NixEvaluator && this.inner.isRestricted,
      };
      const resolved = roots.map((r) => path.resolve(r));
      return { parts, entries, roots: resolved, ...(resolved.length === 1 ? { home: resolved[0]! } : {}) };
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

  private async read(deployment: string): Promise<CacheDoc> {
    try {
      const doc = JSON.parse(await fs.readFile(this.file(deployment), 'utf8')) as Partial<StoredDoc>;
      const entries = Array.isArray(doc.entries) ? doc.entries : [];
      // Records of another version are dropped: they are only an optimisation.
      if (doc.version !== FILE_VERSION || !Array.isArray(doc.reads) || !Array.isArray(doc.bases)) {
        return { entries, machines: {}, hosts: {}, physical: {} };
      }
      const { reads, bases } = doc;
      const expand = <R extends Traced>(r: Stored<R> | undefined): R | undefined => {
        if (typeof r !== 'object' || r === null) return undefined;
        const readsOf = reads[r.reads];
        const base = bases[r.base];
        if (!Array.isArray(readsOf) || typeof base !== 'string') return undefined;
        return { ...r, base, reads: readsOf } as unknown as R;
      };
      const expandAll = <R extends Traced>(records: Record<string, Stored<R>> | undefined) => {
        const out: Record<string, R> = {};
        for (const [m, r] of Object.entries(records ?? {})) {
          const e = expand(r);
          if (e) out[m] = e;
        }
        return out;
      };
      const names = expand(doc.names);
      const network = expand(doc.network);
      return {
        entries,
        machines: expandAll(doc.machines),
        hosts: expandAll(doc.hosts),
        physical: expandAll(doc.physical),
        names: Array.isArray(names?.names) ? names : undefined,
        network: network?.value ? network : undefined,
      };
    } catch {
      // A missing or damaged cache is an empty one.
      return { entries: [], machines: {}, hosts: {}, physical: {} };
    }
  }

  /**
   * Keep `entry` (a whole result under its key) in `old` (as read by this call), and each kind of record `byMachine`
   * holds in place of the earlier ones. Reads and bases are written once each, and named by their index: many machines share them.
   */
  private async store(
    deployment: string,
    old: CacheDoc,
    entry: Entry | undefined,
    byMachine: Partial<ByMachine> = {},
  ): Promise<void> {
    const { entries, ...records } = { ...old, ...byMachine };
    const reads: string[][] = [];
    const readIds = new Map<string, number>();
    const bases: string[] = [];
    const shrink = <R extends Traced>(r: R): Stored<R> => {
      const id = r.reads.join('\0');
      let i = readIds.get(id);
      if (i === undefined) readIds.set(id, (i = reads.push(r.reads) - 1));
      let b = bases.indexOf(r.base);
      if (b < 0) b = bases.push(r.base) - 1;
      return { ...r, reads: i, base: b };
    };
    const shrinkAll = <R extends Traced>(all: Record<string, R>) =>
      Object.fromEntries(Object.entries(all).map(([m, r]) => [m, shrink(r)]));
    const doc: StoredDoc = {
      version: FILE_VERSION,
      entries: entry ? newest([entry, ...entries.filter((e) => e.key !== entry.key)]) : entries,
      machines: shrinkAll(records.machines),
      hosts: shrinkAll(records.hosts),
      physical: shrinkAll(records.physical),
      ...(records.names ? { names: shrink(records.names) } : {}),
      ...(records.network ? { network: shrink(records.network) } : {}),
      reads,
      bases,
    };
    await fs.mkdir(this.options.dir, { recursive: true, mode: 0o700 });
    const file = this.file(deployment);
    const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await fs.writeFile(tmp, JSON.stringify(doc), { mode: 0o600 });
    await fs.rename(tmp, file);
  }
}

/**
 * What whole results a file keeps: at most CACHE_ENTRIES, the most recent first, and no more than
 * CACHE_ENTRY_BYTES of them but the newest. A physical view holds every cloud resource of the deployment (5,000
 * security groups are 1.7 MB of JSON), and the file is read and written at every reconcile: eight of those would
 * be a controller's largest allocation.
 */
function newest(entries: Entry[]): Entry[] {
  const kept: Entry[] = [];
  let bytes = 0;
  for (const e of entries.slice(0, CACHE_ENTRIES)) {
    if (kept.length > 0) {
      bytes += JSON.stringify(e.value).length;
      if (bytes > CACHE_ENTRY_BYTES) break;
    }
    kept.push(e);
  }
  return kept;
}

/** The cache file's layout; records of another are dropped, whole results kept. */
const FILE_VERSION = 2;

/** A record as written: its reads and base are indices into the file's tables. */
type Stored<R extends Traced> = Omit<R, 'reads' | 'base'> & { reads: number; base: number };

interface StoredDoc {
  version: number;
  entries: Entry[];
  machines: Record<string, Stored<MachineRecord>>;
  hosts: Record<string, Stored<HostRecord>>;
  physical: Record<string, Stored<PhysicalRecord>>;
  names?: Stored<NamesRecord>;
  network?: Stored<NetworkRecord>;
  reads: string[][];
  bases: string[];
}

/** What every evaluation of a source reads besides its kind, machines and facts, and the source's tree. */
interface Inputs {
  parts: Omit<KeyParts, 'kind' | 'facts' | 'machines'>;
  /** What each path under the roots holds (`treeDigest`). */
  entries: Map<string, string>;
  roots: string[];
  /** The one root, when there is one: what records name paths relative to. */
  home?: string;
}

/** A result kept with what it was evaluated from: its inputs but the tree, the network paths it read, what they held. */
interface Traced {
  base: string;
  /** Paths under the tree relative to it (so that the tree may move), others absolute. */
  reads: string[];
  /** The tree's path, when the result names it (then it holds for a tree at that path only). */
  bound?: string;
  /** Absent when what the reads held is not known (a path outside the tree, or the tree changed meanwhile). */
  digest?: string;
}

interface MachineRecord extends Traced {
  ref: SystemRef;
}

interface HostRecord extends Traced {
  entry: HostEntry;
}

interface NamesRecord extends Traced {
  names: string[];
}

interface NetworkRecord extends Traced {
  value: Pick<PhysicalView, 'description' | 'resources'>;
}

interface PhysicalRecord extends Traced {
  view: PhysicalView['machines'][string];
}

/** What is kept machine by machine (restricted evaluations only). */
interface ByMachine {
  machines: Record<string, MachineRecord>;
  hosts: Record<string, HostRecord>;
  physical: Record<string, PhysicalRecord>;
  names?: NamesRecord | undefined;
  network?: NetworkRecord | undefined;
}

/** What an evaluation of no machine gives, without asking Nix. */
const NONE: { values: Record<string, never>; reads: Record<string, string[]> } = { values: {}, reads: {} };

/**
 * Whether kept results still hold, from what their evaluations read, against the tree as digested before this
 * reconcile's evaluations began; and the digest of what a new result read (`seal`), unless the tree changed while it
 * was evaluated, since the result may then come from either state.
 */
class Tracker {
  private readonly digests = new Map<string, Promise<string | undefined>>();
  private unchanged: Promise<boolean> | undefined;

  constructor(
    private readonly inputs: Inputs,
    private readonly skip: readonly string[] | undefined,
  ) {}

  digestOf(reads: readonly string[]): Promise<string | undefined> {
    const id = reads.join('\0');
    let d = this.digests.get(id);
    if (!d) {
      d = readsDigest(reads, this.inputs.entries, this.inputs.roots, this.inputs.home);
      this.digests.set(id, d);
    }
    return d;
  }

  /** A path as a record keeps it: relative to the tree when under it. */
  stored(p: string): string {
    const home = this.inputs.home;
    if (home === undefined || (p !== home && !p.startsWith(home + path.sep))) return p;
    return path.relative(home, p) || '.';
  }

  /**
   * The inputs of a kind of result but the tree (`tree`), with the network files named relative to the tree: a tree
   * that moved keeps its results, unless they name its path (`bound`).
   */
  base(extra: Pick<KeyParts, 'kind' | 'facts'>): string {
    const { parts } = this.inputs;
    return evalCacheKey({ ...parts, tree: '', files: parts.files.map((f) => this.stored(f)), ...extra });
  }

  /** A new result's record: what it read, and whether `text` (the result, or what it is made of) names the tree. */
  traced(base: string, reads: string[] | undefined, names: boolean): Traced {
    return {
      base,
      reads: (reads ?? []).map((p) => this.stored(p)),
      ...(names && this.inputs.home !== undefined ? { bound: this.inputs.home } : {}),
    };
  }

  /** Whether `text` names the tree: its path, or its last name (a revision's, an artifact's digest). */
  names(text: string): boolean {
    return this.markers().some((m) => text.includes(m));
  }

  markers(): string[] {
    const home = this.inputs.home;
    return home === undefined ? [] : [home, path.basename(home)].filter((m) => m.length > 0);
  }

  async holds(r: Traced | undefined, base: string): Promise<boolean> {
    return (
      r !== undefined &&
      r.base === base &&
      (r.bound === undefined || r.bound === this.inputs.home) &&
      r.digest !== undefined &&
      (await this.digestOf(r.reads)) === r.digest
    );
  }

  /** `machines` split into those whose record in `records` still holds against `base` (kept) and the others. */
  async partition<R extends Traced>(
    machines: readonly string[],
    records: Record<string, R>,
    base: string,
  ): Promise<{ kept: Record<string, R>; stale: string[] }> {
    const kept: Record<string, R> = {};
    const stale: string[] = [];
    for (const m of machines) {
      const r = Object.hasOwn(records, m) ? records[m] : undefined;
      if (r && (await this.holds(r, base))) kept[m] = r;
      else stale.push(m);
    }
    return { kept, stale };
  }

  async seal<R extends Traced>(r: R): Promise<R> {
    // Every evaluation reads the network files: no read named means that what it read is not known.
    if (r.digest !== undefined || r.reads.length === 0) return r;
    this.unchanged ??= treeDigest(this.inputs.roots, this.skip).then(
      (d) => d === this.inputs.parts.tree,
      () => false,
    );
    if (!(await this.unchanged)) return r;
    const digest = await this.digestOf(r.reads);
    return digest === undefined ? r : { ...r, digest };
  }
}

interface CacheDoc extends ByMachine {
  entries: Entry[];
}
