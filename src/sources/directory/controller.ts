// Directory mode: every NixDeployment manifest under a directory (or a git-sync link to one) is reconciled on
// change, debounced, and every interval with jitter. Failures back off per deployment; none blocks another.
import { watch as watchTree, type FSWatcher } from 'chokidar';
import { watch as fsWatch, type FSWatcher as NodeWatcher, promises as fs } from 'node:fs';
import path from 'node:path';
import type { ReconixMetrics } from '../../metrics/metrics.js';
import type { ReconcileRequest } from '../../reconcile/context.js';
import type { Logger } from '../../reconcile/ports.js';
import { WorkQueue, withJitter } from '../../reconcile/queue.js';
import type { ReconcileReport } from '../../reconcile/report.js';
import { parseDuration as parseDurationMs } from '../../spec/index.js';
import {
  DEFAULT_INTERVAL_MS,
  DEFAULT_RETRY_MS,
  requestFor,
  type LoadedDeployment,
  type LoadError,
  type Loader,
} from '../deployments.js';

export interface DirectoryControllerOptions {
  dir: string;
  load: Loader;
  reconcile: (req: ReconcileRequest) => Promise<ReconcileReport>;
  revisionOf: (root: string) => Promise<string | undefined>;
  log: Logger;
  metrics?: ReconixMetrics;
  concurrency?: number;
  debounceMs?: number;
  /** How often the link is re-resolved besides watching it (a safety net for missed events). */
  linkPollMs?: number;
  onReport?: (report: ReconcileReport) => void;
}

export class DirectoryController {
  private readonly queue: WorkQueue;
  private readonly deployments = new Map<string, LoadedDeployment>();
  private readonly lastHash = new Map<string, string>();
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

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.debounce) clearTimeout(this.debounce);
    if (this.linkPoll) clearInterval(this.linkPoll);
    this.linkWatcher?.close();
    await this.treeWatcher?.close();
    this.queue.shutdown();
    await this.queue.idle();
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
    const seen = new Set<string>();
    for (const d of result.deployments) {
      seen.add(d.name);
      this.deployments.set(d.name, d);
      const key = `${d.inputHash}@${revision ?? ''}`;
      if (this.lastHash.get(d.name) !== key) {
        this.lastHash.set(d.name, key);
        this.queue.forget(d.name);
        this.queue.add(d.name);
      }
    }
    for (const name of [...this.deployments.keys()]) {
      // A manifest that fails to load keeps its deployment as it was: nothing is torn down by a typo.
      if (!seen.has(name) && !result.errors.some((e) => e.name === name)) {
        this.deployments.delete(name);
        this.lastHash.delete(name);
        this.queue.remove(name);
        this.opts.metrics?.dropDeployment(name);
        this.opts.log.info('deployment no longer in the source; its machines are left as they are', {
          deployment: name,
        });
      }
    }
  }

  private async handle(name: string): Promise<void> {
    const d = this.deployments.get(name);
    if (!d) return;
    const interval = d.spec.interval ? parseDurationMs(d.spec.interval) : DEFAULT_INTERVAL_MS;
    if (d.spec.suspend) {
      this.opts.log.info('deployment suspended', { deployment: name });
      this.queue.addAfter(name, withJitter(interval));
      return;
    }
    const req = requestFor(
      name,
      d.spec,
      d.source,
      'deploy',
      this.revision ? { revision: this.revision } : {},
    );
    const report = await this.opts.reconcile(req);
    this.lastReports.set(name, report);
    this.opts.metrics?.record(report);
    this.opts.onReport?.(report);
    const retry = d.spec.retryInterval ? parseDurationMs(d.spec.retryInterval) : DEFAULT_RETRY_MS;
    if (report.ok) {
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
}
