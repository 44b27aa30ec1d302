// Directory mode: every NixDeployment manifest under a directory (or a git-sync link to one) is reconciled on
// change, debounced, and every interval with jitter. Failures back off per deployment; none blocks another.
// A manifest that stops loading keeps its deployment, its metrics and its recorded state, and fails it with
// InvalidManifest until it loads again.
import { watch as watchTree, type FSWatcher } from 'chokidar';
import { watch as fsWatch, type FSWatcher as NodeWatcher, promises as fs } from 'node:fs';
import path from 'node:path';
import { Reason } from '../../api/conditions.js';
import type { ReconixMetrics } from '../../metrics/metrics.js';
import type { ReconcileRequest } from '../../core/request.js';
import type { Logger } from '../../core/ports.js';
import { WorkQueue, withJitter } from '../queue.js';
import type { ReconcileReport } from '../../report/report.js';
import { parseDuration as parseDurationMs } from '../../util/duration.js';
import type { StateBackend } from '../../state/backend.js';
import {
  DEFAULT_INTERVAL_MS,
  DEFAULT_RETRY_MS,
  requestFor,
  type LoadedDeployment,
  type LoadError,
  type Loader,
} from '../../source/deployments.js';
import { DEFAULT_STUCK_AFTER_MS, DirectoryHealth, type Probe } from './health.js';

export interface DirectoryControllerOptions {
  dir: string;
  load: Loader;
  reconcile: (req: ReconcileRequest) => Promise<ReconcileReport>;
  revisionOf: (root: string) => Promise<string | undefined>;
  log: Logger;
  metrics?: ReconixMetrics;
  /** Where a deployment whose manifest stops loading gets its InvalidManifest status recorded. */
  state?: StateBackend;
  concurrency?: number;
  /** A reconcile running longer than this makes `liveness()` fail. */
  stuckAfterMs?: number;
  debounceMs?: number;
  /** How often the link is re-resolved besides watching it (a safety net for missed events). */
  linkPollMs?: number;
  onReport?: (report: ReconcileReport) => void;
  /** A deployment gone from the source (its manifest removed). */
  onRemoved?: (name: string) => void;
}

export class DirectoryController {
  private readonly queue: WorkQueue;
  private readonly deployments = new Map<string, LoadedDeployment>();
  private readonly lastHash = new Map<string, string>();
  /** Deployments whose manifest no longer loads, with the error; they keep their last good spec here. */
  private readonly broken = new Map<string, string>();
  private readonly health: DirectoryHealth;
  private errors: LoadError[] = [];
  private root: string | undefined;
  private revision: string | undefined;
  private treeWatcher: FSWatcher | undefined;
  private linkWatcher: NodeWatcher | undefined;
  private linkPoll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private stopped = false;
  readonly lastReports = new Map<string, ReconcileReport>();

  constructor(private readonly opts: DirectoryControllerOptions) {
    this.health = new DirectoryHealth(opts.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS);
    this.queue = new WorkQueue((name) => this.handle(name), {
      concurrency: opts.concurrency ?? 4,
      baseDelayMs: DEFAULT_RETRY_MS,
      maxDelayMs: DEFAULT_INTERVAL_MS,
      onDepth: (d) => opts.metrics?.queueDepth.set(d),
    });
  }

  async start(): Promise<void> {
    await this.resolveRoot();
    const parent = path.dirname(path.resolve(this.opts.dir));
    const base = path.basename(path.resolve(this.opts.dir));
    // git-sync swaps a symlink: watch the link itself, not the tree it pointed at when we started.
    this.linkWatcher = fsWatch(parent, (_event, file) => {
      if (file === null || String(file) === base || String(file).startsWith('.')) void this.resolveRoot();
    });
    this.linkPoll = setInterval(() => void this.resolveRoot(), this.opts.linkPollMs ?? 2000);
    this.linkPoll.unref();
  }

  /** Stop watching and wait for running reconciles, at most `graceMs` (a hung activation must not block). */
  async stop(graceMs = 30_000): Promise<void> {
    this.stopped = true;
    if (this.debounce) clearTimeout(this.debounce);
    if (this.linkPoll) clearInterval(this.linkPoll);
    this.linkWatcher?.close();
    await this.treeWatcher?.close();
    this.queue.shutdown();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)));
    if (await Promise.race([this.queue.idle().then(() => false), late]))
      this.opts.log.warn('stopping with reconciles still running', { graceMs });
    clearTimeout(timer);
  }

  /** /readyz: every deployment of the first load reconciled once (or failed to load). */
  readiness(): Probe {
    return this.health.readiness();
  }

  /** /healthz: no reconcile running longer than the stuck threshold. */
  liveness(): Probe {
    return this.health.liveness();
  }

  /** Reconcile one deployment now (as a requestedAt annotation does in Kubernetes mode). */
  requestReconcile(name: string): void {
    this.queue.add(name);
  }

  get loadErrors(): readonly LoadError[] {
    return this.errors;
  }

  get currentRevision(): string | undefined {
    return this.revision;
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  private async resolveRoot(): Promise<void> {
    if (this.stopped) return;
    let real: string;
    try {
      real = await fs.realpath(this.opts.dir);
    } catch (err) {
      this.opts.log.warn('source directory unavailable', {
        dir: this.opts.dir,
        error: (err as Error).message,
      });
      return;
    }
    if (real === this.root) return;
    this.opts.log.info('source tree changed', { dir: this.opts.dir, root: real, previous: this.root });
    this.root = real;
    await this.treeWatcher?.close();
    this.treeWatcher = watchTree(real, {
      ignoreInitial: true,
      ignored: (p: string) =>
        p.split(path.sep).includes('.git') || p.split(path.sep).includes('node_modules'),
    });
    this.treeWatcher.on('all', () => this.scheduleReload());
    this.treeWatcher.on('error', (err) => this.opts.log.warn('watch error', { error: String(err) }));
    await this.reload();
  }

  private scheduleReload(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.reload(), this.opts.debounceMs ?? 300);
    this.debounce.unref();
  }

  private async reload(): Promise<void> {
    const root = this.root;
    if (!root || this.stopped) return;
    const [result, revision] = await Promise.all([this.opts.load(root), this.opts.revisionOf(root)]);
    if (root !== this.root) return; // swapped again meanwhile; the newer reload wins
    this.revision = revision;
    this.errors = result.errors;
    this.opts.metrics?.manifestErrors.set(result.errors.length);
    for (const e of result.errors)
      this.opts.log.error('invalid manifest', { path: e.path, error: e.message });
    if (result.empty && this.errors.length === 0) this.opts.log.warn(result.empty, { dir: this.opts.dir });
    this.health.sourceEmpty(result.errors.length === 0 ? result.empty : undefined);
    const seen = new Set<string>();
    for (const d of result.deployments) {
      seen.add(d.name);
      this.deployments.set(d.name, d);
      const key = `${d.inputHash}@${revision ?? ''}`;
      const wasBroken = this.broken.delete(d.name);
      if (this.lastHash.get(d.name) !== key || wasBroken) {
        this.lastHash.set(d.name, key);
        this.queue.forget(d.name);
        this.queue.add(d.name);
      }
    }
    for (const [name, d] of [...this.deployments]) {
      if (seen.has(name)) continue;
      // A manifest that fails to load keeps its deployment as it was: nothing is torn down by a typo. A YAML
      // error hides the document's name, so the file it came from having an error is enough.
      const errors = result.errors.filter((e) => e.name === name || (!e.name && e.path === d.manifestPath));
      if (errors.length > 0) {
        const message = errors.map((e) => e.message).join('; ');
        if (this.broken.get(name) !== message) {
          this.broken.set(name, message);
          this.queue.forget(name);
          this.queue.add(name);
        }
        continue;
      }
      this.deployments.delete(name);
      this.lastHash.delete(name);
      this.broken.delete(name);
      this.queue.remove(name);
      this.health.done(name);
      this.opts.metrics?.dropDeployment(name);
      this.lastReports.delete(name);
      this.opts.onRemoved?.(name);
      this.opts.log.info('deployment no longer in the source; its machines are left as they are', {
        deployment: name,
      });
    }
    this.health.firstLoadDone(seen);
  }

  private async handle(name: string): Promise<void> {
    const d = this.deployments.get(name);
    if (!d) return;
    this.health.started(name);
    try {
      await this.reconcileOnce(name, d);
    } finally {
      this.health.finished(name);
    }
  }

  private async reconcileOnce(name: string, d: LoadedDeployment): Promise<void> {
    const interval = d.spec.interval ? parseDurationMs(d.spec.interval) : DEFAULT_INTERVAL_MS;
    const broken = this.broken.get(name);
    if (broken === undefined && d.spec.suspend) {
      this.opts.log.info('deployment suspended', { deployment: name });
      this.queue.addAfter(name, withJitter(interval));
      return;
    }
    const report =
      broken !== undefined
        ? await this.invalidManifest(name, broken)
        : await this.opts.reconcile(
            requestFor(name, d.spec, d.source, 'deploy', this.revision ? { revision: this.revision } : {}),
          );
    this.lastReports.set(name, report);
    this.opts.metrics?.record(report);
    this.opts.onReport?.(report);
    const retry = d.spec.retryInterval ? parseDurationMs(d.spec.retryInterval) : DEFAULT_RETRY_MS;
    if (report.ok) {
      this.opts.log.info('reconciled', {
        deployment: name,
        reason: report.reason,
        manifest: path.relative(this.root ?? '', d.manifestPath),
        ...(this.revision ? { revision: this.revision } : {}),
      });
      this.queue.forget(name);
      this.queue.addAfter(name, withJitter(interval));
    } else if (report.error?.reaction === 'stall') {
      // Retrying cannot help: a change to the manifest or its files (reload), or a request, wakes it.
      this.queue.forget(name);
      this.opts.log.warn('reconcile stalled; waiting for the manifest or its files to change', {
        deployment: name,
        reason: report.reason,
      });
    } else if (report.error?.reaction === 'wait') {
      this.queue.forget(name);
      this.queue.addAfter(name, withJitter(retry));
    } else {
      const delay = this.queue.addRateLimited(name, retry, interval);
      this.opts.log.warn('reconcile failed; retrying', {
        deployment: name,
        reason: report.reason,
        retryInMs: delay,
      });
    }
  }

  /**
   * The reconcile of a deployment whose manifest does not load: it fails with InvalidManifest and touches no
   * machine, so its machines' series stay as last observed. It stalls: only a change to its files wakes it.
   */
  private async invalidManifest(name: string, message: string): Promise<ReconcileReport> {
    const at = new Date().toISOString();
    const report: ReconcileReport = {
      deployment: name,
      op: 'deploy',
      ok: false,
      reason: Reason.InvalidManifest,
      message: `the manifest no longer loads; the last one that did is kept: ${message}`,
      error: {
        reason: Reason.InvalidManifest,
        message: `the manifest no longer loads; the last one that did is kept: ${message}`,
        reaction: 'stall',
        scope: 'deployment',
      },
      plan: { machines: [], actions: [] },
      machines: {},
      startedAt: at,
      durationMs: 0,
      ...(this.revision ? { revision: this.revision } : {}),
    };
    this.opts.log.error('deployment kept as it was: its manifest does not load', {
      deployment: name,
      error: message,
    });
    const state = this.opts.state;
    if (state) {
      try {
        const handle = await state.acquire(name, 'reconix controller (invalid manifest)');
        try {
          const { revision } = report;
          handle.state.status = {
            at,
            ok: false,
            reason: report.reason,
            message: report.message,
            ...(revision ? { revision } : {}),
          };
          await handle.save();
        } finally {
          await handle.release();
        }
      } catch (err) {
        this.opts.log.warn('cannot record the status', { deployment: name, error: (err as Error).message });
      }
    }
    return report;
  }
}
