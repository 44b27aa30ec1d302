// Kubernetes mode: NixDeployments watched by an informer feed the same work queue and reconciler core as the
// directory controller. A watch event becomes a reconcile only when it matters (new generation, requestedAt,
// deletion), so the controller's own status writes never trigger one; every deployment is also reconciled
// every spec.interval, with jitter, since missing an event must never matter. A stalled deployment is the
// exception: retrying cannot help it, so it waits for its object, one of its Secrets or its source tree to change.
import type { KubeConfig } from '@kubernetes/client-node';
import type { ReconixMetrics } from '../../metrics/metrics.js';
import type { Logger } from '../../core/ports.js';
import { WorkQueue, withJitter } from '../queue.js';
import type { NixDeploymentClient, SecretApi } from '../../kube/api.js';
import { kubeMessage } from '../../kube/errors.js';
import type { EventRecorder } from './events.js';
import { ResilientInformer } from './informer.js';
import { keyOf, parseDeploymentId, triggerOf, type NixDeploymentObject } from '../../kube/object.js';
import type { Next, ObjectReconciler } from './reconcile-object.js';
import { SecretWatch } from './secret-watch.js';
import type { SourceResolver } from './source.js';
import type { FluxKind } from './flux.js';
import type { FluxSourceWatch } from './flux-watch.js';

export interface KubeControllerOptions {
  kubeConfig: KubeConfig;
  client: NixDeploymentClient;
  reconciler: ObjectReconciler;
  events: EventRecorder;
  sources?: SourceResolver;
  /** Watches the Flux sources that deployments name in spec.sourceRef. */
  fluxWatch?: FluxSourceWatch;
  log: Logger;
  metrics?: ReconixMetrics;
  /** Deployments reconciled at once. */
  concurrency?: number;
  /** First retry delay after a failure that is not the spec's own (a status write that failed). */
  baseRetryMs?: number;
  maxRetryMs?: number;
  /** Backoff of watch restarts. */
  watchBaseDelayMs?: number;
  watchMaxDelayMs?: number;
  /** Where the Secrets of stalled deployments are read, to wake them when one changes; none: not woken so. */
  secrets?: SecretApi;
  /** How often the Secrets of stalled deployments are read. Default 10 s. */
  secretPollMs?: number;
}

/** A resync faster than this would be a loop, whatever the spec says. */
const MIN_INTERVAL_MS = 1000;

export class KubeController {
  private readonly queue: WorkQueue;
  private readonly informer: ResilientInformer;
  private readonly secretWatch: SecretWatch | undefined;
  /** Deployments that wait for a change: no retry, no resync. */
  private readonly stalledKeys = new Set<string>();
  private readonly triggers = new Map<string, string>();
  private stopSourceWatch: (() => void) | undefined;
  private started = false;
  /** Cancels the reconciles in flight (through ReconcileRequest.signal) when leadership is lost. */
  private readonly inFlight = new AbortController();
  /** Reconciles started, per key (tests count them to show there is no storm). */
  readonly reconciles = new Map<string, number>();
  watchRestarts = 0;
  /** Lists after the first, each after a watch got 410 Gone. */
  relists = 0;

  constructor(private readonly opts: KubeControllerOptions) {
    this.queue = new WorkQueue((key) => this.handle(key), {
      concurrency: opts.concurrency ?? 4,
      baseDelayMs: opts.baseRetryMs ?? 1000,
      maxDelayMs: opts.maxRetryMs ?? 300_000,
      onDepth: (d) => opts.metrics?.queueDepth.set(d),
    });
    this.informer = new ResilientInformer({
      kubeConfig: opts.kubeConfig,
      client: opts.client,
      log: opts.log,
      handlers: { upsert: (o) => this.upsert(o), remove: (o) => this.remove(o) },
      ...(opts.watchBaseDelayMs === undefined ? {} : { baseDelayMs: opts.watchBaseDelayMs }),
      ...(opts.watchMaxDelayMs === undefined ? {} : { maxDelayMs: opts.watchMaxDelayMs }),
      onRestart: () => void (this.watchRestarts += 1),
      onRelist: () => void (this.relists += 1),
    });
    this.secretWatch =
      opts.secrets &&
      new SecretWatch({
        api: opts.secrets,
        log: opts.log,
        onChange: (key) => this.queue.add(key),
        ...(opts.secretPollMs === undefined ? {} : { everyMs: opts.secretPollMs }),
      });
  }

  async start(): Promise<void> {
    this.started = true;
    await this.informer.start();
    this.secretWatch?.start();
    this.stopSourceWatch = this.opts.sources?.watch((root) => this.sourceChanged(root), this.opts.log);
    this.opts.log.info('watching NixDeployments', { path: this.opts.client.path });
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.stopSourceWatch?.();
    await this.opts.fluxWatch?.stop();
    await this.secretWatch?.stop();
    await this.informer.stop();
    this.queue.shutdown();
    await this.queue.idle();
  }

  /**
   * Leadership is lost: every reconcile in flight stops at its next safe point, and none starts again (the process
   * exits and comes back as a candidate). Another replica may act on these deployments once the Lease expires.
   */
  abortInFlight(): void {
    this.inFlight.abort(new Error('this replica lost the leader lease'));
  }

  /** Whether the deployment is stalled now, waiting for a change. */
  isStalled(key: string): boolean {
    return this.stalledKeys.has(key);
  }

  /** Ready once the first list is in the cache. */
  get synced(): boolean {
    return this.informer.synced;
  }

  /** The cached object. */
  get(namespace: string, name: string): NixDeploymentObject | undefined {
    return this.informer.get(namespace, name);
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  private upsert(obj: NixDeploymentObject): void {
    const key = keyOf(obj);
    if (obj.spec.sourceRef) this.opts.fluxWatch?.ensure(obj.spec.sourceRef.kind);
    const trigger = triggerOf(obj);
    const previous = this.triggers.get(key);
    if (previous === trigger) return;
    this.triggers.set(key, trigger);
    // A new spec starts afresh rather than waiting out the backoff of the old one.
    if (previous?.split('|')[0] !== trigger.split('|')[0]) this.queue.forget(key);
    this.queue.add(key);
  }

  private remove(obj: NixDeploymentObject): void {
    const key = keyOf(obj);
    this.triggers.delete(key);
    this.unstall(key);
    this.queue.remove(key);
    this.opts.events.forget(obj);
    this.opts.metrics?.dropDeployment(key);
    void this.opts.sources?.forget(obj).catch((err: unknown) =>
      this.opts.log.warn('cannot remove the unpacked source of a deleted deployment', {
        deployment: key,
        error: (err as Error).message,
      }),
    );
  }

  private sourceChanged(root: string): void {
    for (const obj of this.informer.list()) {
      if (this.opts.sources?.isStale(obj, root)) this.queue.add(keyOf(obj));
    }
  }

  /** A Flux source's artifact changed: reconcile the deployments that read it. */
  fluxSourceChanged(kind: FluxKind, namespace: string, name: string): void {
    for (const obj of this.informer.list()) {
      const ref = obj.spec.sourceRef;
      if (
        ref?.kind === kind &&
        ref.name === name &&
        (ref.namespace ?? obj.metadata.namespace) === namespace
      ) {
        this.queue.add(keyOf(obj));
      }
    }
  }

  private async handle(key: string): Promise<void> {
    const { namespace, name } = parseDeploymentId(key);
    const obj = this.informer.get(namespace, name);
    if (!obj) return; // deleted meanwhile
    const signal = this.inFlight.signal;
    if (signal.aborted) return; // not the leader: whoever leads now reconciles it
    // Whatever woke it, the reconcile decides afresh whether it is still stalled.
    this.unstall(key);
    this.reconciles.set(key, (this.reconciles.get(key) ?? 0) + 1);
    let next: Next;
    try {
      next = await this.opts.reconciler.reconcile(obj, signal);
    } catch (err) {
      // The API server refused or was away (a status write, a finalizer patch): back off and try again.
      this.opts.log.warn('reconcile interrupted', { deployment: key, error: kubeMessage(err) });
      next = { kind: 'retry', baseMs: this.opts.baseRetryMs ?? 1000, maxMs: this.opts.maxRetryMs ?? 300_000 };
    }
    switch (next.kind) {
      case 'requeue':
        this.queue.forget(key);
        this.queue.addAfter(key, withJitter(Math.max(next.afterMs, MIN_INTERVAL_MS)));
        return;
      case 'retry': {
        const delay = this.queue.addRateLimited(key, next.baseMs, Math.max(next.maxMs, next.baseMs));
        this.opts.log.warn('reconcile failed; retrying', { deployment: key, retryInMs: delay });
        return;
      }
      case 'stall':
        // No retry and no resync: the informer (object), the source watch (files) or the Secret watch wakes it.
        this.queue.forget(key);
        this.stalledKeys.add(key);
        this.secretWatch?.watch(key, next.namespace, next.secrets, next.seen);
        return;
      case 'forget':
        this.queue.remove(key);
        return;
    }
  }

  private unstall(key: string): void {
    this.stalledKeys.delete(key);
    this.secretWatch?.forget(key);
  }
}
