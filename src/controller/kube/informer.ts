// A list-watch cache of NixDeployments that keeps going. client-node's informer re-lists on 410 Gone but stops
// for good on any other error (a refused connection while the API server restarts, a 5xx): restart it here with
// exponential backoff, resuming from the last resourceVersion it saw, so no update in between is missed.
import { makeInformer, type Informer, type KubeConfig, type ObjectCache } from '@kubernetes/client-node';
import type { Logger } from '../../core/ports.js';
import { kubeMessage } from '../../kube/errors.js';
import type { NixDeploymentClient } from '../../kube/api.js';
import { isNixDeployment, type NixDeploymentObject } from '../../kube/object.js';

export interface InformerHandlers {
  upsert(obj: NixDeploymentObject): void;
  remove(obj: NixDeploymentObject): void;
}

export interface ResilientInformerOptions {
  kubeConfig: KubeConfig;
  client: NixDeploymentClient;
  handlers: InformerHandlers;
  log: Logger;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Called on every restart after an error (for tests and metrics). */
  onRestart?: (attempt: number, error: string) => void;
  /** Called on every list after the first: the watch's resourceVersion had expired (410 Gone). */
  onRelist?: (items: number) => void;
}

export class ResilientInformer {
  private readonly informer: Informer<NixDeploymentObject> & ObjectCache<NixDeploymentObject>;
  private stopped = true;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private listedOnce = false;

  constructor(private readonly opts: ResilientInformerOptions) {
    const { client } = opts;
    this.informer = makeInformer<NixDeploymentObject>(
      opts.kubeConfig,
      client.path,
      async () => {
        const list = await client.list();
        // A list that succeeds means we are connected again.
        this.failures = 0;
        // The informer lists again only when a watch answered 410 Gone: what changed meanwhile comes from this list.
        if (this.listedOnce) {
          opts.log.info('watch resourceVersion expired; re-listed NixDeployments', {
            resourceVersion: list.metadata?.resourceVersion,
            items: list.items.length,
          });
          opts.onRelist?.(list.items.length);
        }
        this.listedOnce = true;
        return list;
      },
      client.labelSelector,
    );
    const upsert = (obj: NixDeploymentObject) => {
      this.failures = 0;
      if (isNixDeployment(obj)) opts.handlers.upsert(obj);
    };
    this.informer.on('add', upsert);
    this.informer.on('update', upsert);
    this.informer.on('delete', (obj) => {
      if (isNixDeployment(obj)) opts.handlers.remove(obj);
    });
    this.informer.on('error', (err: unknown) => this.onError(err));
  }

  /** Whether the cache holds a complete list (it may lag while a watch is being restarted). */
  get synced(): boolean {
    return this.listedOnce;
  }

  get(namespace: string, name: string): NixDeploymentObject | undefined {
    return this.informer.get(name, namespace);
  }

  list(): readonly NixDeploymentObject[] {
    return this.informer.list();
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.informer.start().catch((err: unknown) => this.onError(err));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    await this.informer.stop();
  }

  private onError(err: unknown): void {
    // Stopping aborts the watch, which reports the abort as an error.
    if (this.stopped || this.restartTimer) return;
    this.failures += 1;
    const base = this.opts.baseDelayMs ?? 250;
    const delay = Math.min(base * 2 ** (this.failures - 1), this.opts.maxDelayMs ?? 30_000);
    const error = kubeMessage(err);
    this.opts.log.warn('watch of NixDeployments failed; restarting', { error, retryInMs: delay });
    this.opts.onRestart?.(this.failures, error);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopped) return;
      // Resumes the watch at the last resourceVersion seen; a 410 from there makes the informer re-list.
      void this.informer.start().catch((e: unknown) => this.onError(e));
    }, delay);
    this.restartTimer.unref();
  }
}
